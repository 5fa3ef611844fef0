"""Diffusion b-value and gradient direction of one image, from standard and vendor private tags."""

from __future__ import annotations

import struct

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag

_GE_BVALUE = Tag(0x0043, 0x1039)  # IS, first value (+1e9 offsets on some releases)
_SIEMENS_BVALUE = Tag(0x0019, 0x100C)  # IS
_SIEMENS_GRADIENT = Tag(0x0019, 0x100E)  # FD x3
_PHILIPS_BVALUE = Tag(0x2001, 0x1003)  # FL


def _first_number(raw: object) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        text = raw.decode("ascii", "ignore").split("\\")[0].strip()
        if text:
            try:
                return float(text)
            except ValueError:
                pass
        if len(raw) == 4:
            return float(struct.unpack("<f", raw)[0])
        if len(raw) == 8:
            return float(struct.unpack("<d", raw)[0])
        return None
    if isinstance(raw, list | tuple) or hasattr(raw, "__getitem__") and not isinstance(raw, str):
        try:
            return float(raw[0])
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return float(str(raw).split("\\")[0])
    except ValueError:
        return None


def b_value_of(ds: Dataset) -> float | None:
    """The b-value (s/mm^2) of a classic single-frame image, or None when it carries none."""
    if "DiffusionBValue" in ds:
        return float(ds.DiffusionBValue)
    mr_diffusion = ds.get("MRDiffusionSequence")
    if mr_diffusion and "DiffusionBValue" in mr_diffusion[0]:
        return float(mr_diffusion[0].DiffusionBValue)
    for tag in (_SIEMENS_BVALUE, _PHILIPS_BVALUE):
        if tag in ds:
            value = _first_number(ds[tag].value)
            if value is not None:
                return value
    if _GE_BVALUE in ds:
        value = _first_number(ds[_GE_BVALUE].value)
        if value is not None:
            return float(value % 1e9) if value >= 1e9 else value
    return None


def gradient_of(ds: Dataset) -> np.ndarray | None:
    """The diffusion gradient direction in patient coordinates (unit vector), or None."""
    vector = None
    if "DiffusionGradientOrientation" in ds:
        vector = [float(v) for v in ds.DiffusionGradientOrientation]
    else:
        mr_diffusion = ds.get("MRDiffusionSequence")
        if mr_diffusion:
            seq = mr_diffusion[0].get("DiffusionGradientDirectionSequence")
            if seq and "DiffusionGradientOrientation" in seq[0]:
                vector = [float(v) for v in seq[0].DiffusionGradientOrientation]
    if vector is None and _SIEMENS_GRADIENT in ds:
        raw = ds[_SIEMENS_GRADIENT].value
        if isinstance(raw, bytes) and len(raw) == 24:
            vector = list(struct.unpack("<3d", raw))
        elif raw is not None and not isinstance(raw, bytes):
            vector = [float(v) for v in raw]
    if vector is None or len(vector) != 3:
        return None
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    return None if norm < 1e-6 else v / norm
