"""Diffusion weighting from headers: b-values and gradient directions of every image or frame.

The one reader of these facts: the inventory classifies series with :func:`diffusion_samples`, the
analysers read each image with :func:`b_value_of` and :func:`gradient_of`.

Sources, in order of trust:
1. the standard MR Diffusion attributes: Diffusion b-value (0018,9087) and Diffusion Gradient
   Orientation (0018,9089), at the top level, in an MR Diffusion Sequence (0018,9117) of the image, or
   in each frame's MR Diffusion Sequence of enhanced multi-frame images;
2. private vendor elements, found through their private creators:
   GE (0043,xx39) "GEMS_PARM_01", first value; multi-b and synthetic-b series add a bias of
   1 000 000 000 to it (the bias itself is in (0043,xx7F)), so the value is taken modulo 10^9 as
   dcm2niix does since its issue 602; directions in (0019,xxBB/BC/BD) "GEMS_ACQU_01";
   Siemens (0019,xx0C) and (0019,xx0E) "SIEMENS MR HEADER", or B_value / DiffusionGradientDirection
   in the CSA image header; Philips (2001,xx03) "Philips Imaging DD 001" (FL) with directions in
   (2005,xxB0/B1/B2) "Philips MR Imaging DD 001".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from workers.inventory import siemens
from workers.inventory.headers import decode_numbers, floats, private_element, to_float

GE_BVALUE_BIAS = 1_000_000_000


@dataclass(frozen=True)
class DiffusionSample:
    """The diffusion weighting of one image or frame."""

    b_value: float | None
    direction: tuple[float, float, float] | None = None
    isotropic: bool = False


def ge_b_value(raw_first_value: float) -> float:
    """A GE (0043,xx39) first value without the multi-b bias (``b + 10^9`` -> ``b``)."""
    return float(raw_first_value % GE_BVALUE_BIAS) if raw_first_value >= GE_BVALUE_BIAS else raw_first_value


def _direction(values: Sequence[float] | None) -> tuple[float, float, float] | None:
    if values is None or len(values) != 3:
        return None
    return (float(values[0]), float(values[1]), float(values[2]))


def _standard(item: Dataset) -> DiffusionSample | None:
    b = to_float(item.get("DiffusionBValue"))
    if b is None:
        return None
    direction = _direction(floats(item.get("DiffusionGradientOrientation")))
    seq = item.get("DiffusionGradientDirectionSequence")
    if direction is None and seq:
        direction = _direction(floats(seq[0].get("DiffusionGradientOrientation")))
    isotropic = str(item.get("DiffusionDirectionality", "")).upper() == "ISOTROPIC"
    return DiffusionSample(b, direction, isotropic)


def _private(ds: Dataset) -> DiffusionSample | None:
    ge = decode_numbers(private_element(ds, 0x0043, "GEMS_PARM_01", 0x39))
    if ge:
        direction = _direction(
            [v for off in (0xBB, 0xBC, 0xBD) for v in decode_numbers(private_element(ds, 0x0019, "GEMS_ACQU_01", off))]
        )
        return DiffusionSample(ge_b_value(ge[0]), direction)
    sie = decode_numbers(private_element(ds, 0x0019, "SIEMENS MR HEADER", 0x0C))
    if sie:
        direction = _direction(decode_numbers(private_element(ds, 0x0019, "SIEMENS MR HEADER", 0x0E), "d"))
        return DiffusionSample(sie[0], direction)
    csa = siemens.csa_image_header(ds)
    csa_b = siemens.csa_number(csa, "B_value")
    if csa_b:
        return DiffusionSample(csa_b[0], _direction(siemens.csa_number(csa, "DiffusionGradientDirection")))
    phi = decode_numbers(private_element(ds, 0x2001, "Philips Imaging DD 001", 0x03), "f")
    if phi:
        direction = _direction(
            [
                v
                for off in (0xB0, 0xB1, 0xB2)
                for v in decode_numbers(private_element(ds, 0x2005, "Philips MR Imaging DD 001", off), "f")
            ]
        )
        code = private_element(ds, 0x2001, "Philips Imaging DD 001", 0x04)
        isotropic = (code.decode("latin-1") if isinstance(code, bytes) else str(code or "")).strip() == "I"
        return DiffusionSample(phi[0], direction, isotropic)
    return None


def diffusion_samples(ds: Dataset) -> list[DiffusionSample]:
    """One sample per frame (enhanced) or one per image (classic); [] when no b-value is recorded."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    samples: list[DiffusionSample] = []
    if per_frame:
        shared = ds.get("SharedFunctionalGroupsSequence")
        shared_item = None
        if shared and shared[0].get("MRDiffusionSequence"):
            shared_item = shared[0].MRDiffusionSequence[0]
        for frame in per_frame:
            seq = frame.get("MRDiffusionSequence")
            item = seq[0] if seq else shared_item
            sample = _standard(item) if item is not None else None
            if sample is not None:
                samples.append(sample)
        if samples:
            return samples
    standard = _standard(ds)
    if standard is None and ds.get("MRDiffusionSequence"):
        standard = _standard(ds.MRDiffusionSequence[0])
    if standard is not None:
        return [standard]
    private = _private(ds)
    return [private] if private is not None else []


def b_value_of(ds: Dataset) -> float | None:
    """The b-value (s/mm^2) of one image (of the first frame of an enhanced one), or None when it carries none."""
    samples = diffusion_samples(ds)
    return samples[0].b_value if samples else None


def gradient_of(ds: Dataset) -> np.ndarray | None:
    """The diffusion gradient direction of one image (unit vector), or None. Standard attributes give it
    in patient coordinates; vendor private elements in the vendor's frame (GE: the acquisition frame), one
    fixed rotation per series, which the number of directions, FA and MD do not depend on."""
    samples = diffusion_samples(ds)
    direction = samples[0].direction if samples else None
    if direction is None:
        return None
    vector = np.asarray(direction, dtype=float)
    norm = float(np.linalg.norm(vector))
    return None if norm < 1e-6 else vector / norm


def _unit_key(direction: tuple[float, float, float]) -> tuple[float, float, float] | None:
    norm = sum(c * c for c in direction) ** 0.5
    if norm < 1e-3:
        return None
    unit = [c / norm for c in direction]
    first = next(c for c in unit if abs(c) > 1e-3)
    sign = 1.0 if first > 0 else -1.0  # a direction and its opposite encode the same tensor row
    return (round(sign * unit[0], 2), round(sign * unit[1], 2), round(sign * unit[2], 2))


@dataclass(frozen=True)
class DiffusionSummary:
    """What a series' diffusion samples add up to."""

    b_values: list[float]
    directions: int
    isotropic: bool


def summarise(samples: Sequence[DiffusionSample]) -> DiffusionSummary:
    """Sorted distinct b-values (rounded to 0.1 s/mm^2) and the number of distinct directions."""
    b_values = sorted({round(s.b_value, 1) for s in samples if s.b_value is not None and s.b_value >= 0})
    keys = {
        _unit_key(s.direction) for s in samples if s.direction is not None and s.b_value is not None and s.b_value > 0
    }
    keys.discard(None)
    isotropic = any(s.isotropic for s in samples)
    return DiffusionSummary(b_values, len(keys), isotropic)
