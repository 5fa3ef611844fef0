"""ADC maps (mm^2/s) from diffusion-weighted images or from a vendor ADC map."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from workers.analysis.volume import Volume, load_volume
from workers.inventory.diffusion import b_value_of


def fit_adc(volumes: dict[float, Volume], *, min_signal: float = 1.0) -> Volume:
    """Mono-exponential ADC by log-linear least squares over all b-values: ln S = ln S0 - b ADC.

    ``volumes`` maps b-value (s/mm^2) to a volume on one grid. Voxels with any signal below
    ``min_signal`` get ADC 0. Needs at least two distinct b-values.
    """
    if len(volumes) < 2:
        raise ValueError(f"an ADC needs at least two b-values, the series has {len(volumes)}")
    b = np.array(sorted(volumes), dtype=float)
    ref = volumes[b[0]]
    for value in b[1:]:
        vol = volumes[value]
        if vol.array.shape != ref.array.shape or not np.allclose(vol.positions, ref.positions, atol=0.01):
            raise ValueError(f"the b = {value:g} images are not on the grid of the b = {b[0]:g} images")
    stack = np.stack([volumes[v].array.astype(np.float64) for v in b])  # (nb, ...)
    valid = np.all(stack >= min_signal, axis=0)
    logs = np.log(np.maximum(stack, min_signal))
    b_centred = b - b.mean()
    slope = np.tensordot(b_centred, logs - logs.mean(axis=0), axes=(0, 0)) / float(b_centred @ b_centred)
    adc = np.where(valid, -slope, 0.0)
    return ref.with_array(adc.astype(np.float32))


def diffusion_volumes(datasets: Sequence[Dataset]) -> dict[float, Volume]:
    """Split a DWI series into one volume per b-value (trace/isotropic images; directions averaged)."""
    groups: dict[float, list[Dataset]] = {}
    for ds in datasets:
        b = b_value_of(ds)
        if b is None:
            raise ValueError("an image of the diffusion series has no b-value")
        groups.setdefault(round(b, 1), []).append(ds)
    out = {}
    for b, members in groups.items():
        positions: dict[tuple[float, ...], list[Dataset]] = {}
        for ds in members:
            if "ImagePositionPatient" not in ds:  # e.g. an enhanced multi-frame image: positions are per frame
                raise ValueError(
                    "an image of the diffusion series has no position of its own (an enhanced multi-frame image)"
                )
            key = tuple(round(float(v), 2) for v in ds.ImagePositionPatient)
            positions.setdefault(key, []).append(ds)
        if all(len(v) == 1 for v in positions.values()):
            out[b] = load_volume(members)
            continue
        # Several directions per b-value: the geometric mean approximates the trace image.
        stacks = [load_volume([v[i] for v in positions.values()]) for i in range(min(map(len, positions.values())))]
        logs = np.mean([np.log(np.maximum(s.array, 1e-3)) for s in stacks], axis=0)
        out[b] = stacks[0].with_array(np.exp(logs).astype(np.float32))
    return out


def adc_units_scale(values: np.ndarray, ds: Dataset) -> float:
    """Factor turning a vendor ADC map's values into mm^2/s.

    Uses the Real World Value Mapping units when present (mm2/s, um2/s, 10-6.mm2/s, 10-3.mm2/s), else
    the magnitude of tissue values (about 1e-3 mm^2/s in tissue; maps stored as 10^-6 mm^2/s read ~1000).
    """
    rwvm = ds.get("RealWorldValueMappingSequence")
    if rwvm and "MeasurementUnitsCodeSequence" in rwvm[0]:
        unit = str(rwvm[0].MeasurementUnitsCodeSequence[0].CodeValue)
        table = {
            "mm2/s": 1.0,
            "um2/s": 1e-6,
            "10-6.mm2/s": 1e-6,
            "10-3.mm2/s": 1e-3,
            "10*-6.mm2/s": 1e-6,
            "10*-3.mm2/s": 1e-3,
        }
        if unit in table:
            return table[unit]
    tissue = values[values > 0]
    if tissue.size == 0:
        raise ValueError("ADC map holds no positive value")
    median = float(np.median(tissue))
    if median < 0.05:
        return 1.0
    if median < 50.0:
        return 1e-3
    return 1e-6


def vendor_adc(datasets: Sequence[Dataset]) -> Volume:
    """A vendor ADC map as a volume in mm^2/s."""
    vol = load_volume(datasets)
    return vol.with_array((vol.array * adc_units_scale(vol.array, datasets[0])).astype(np.float32))
