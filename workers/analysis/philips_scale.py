"""Philips private real-world scaling: the floating-point value of a Philips MR pixel.

Philips MR stores a private scale slope SS in (2005,xx0E) of "Philips MR Imaging DD 001" (FL). The displayed
value DV = stored x RescaleSlope + RescaleIntercept is what the volume holds; the floating-point value, on one
scale across series whatever their RescaleSlope, is FP = DV / (RescaleSlope x SS). Two series whose ratio is
taken (MT-off and MT-on) are on one scale only as FP.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from workers.analysis.volume import Volume
from workers.inventory.headers import decode_numbers, private_element

CREATOR = "Philips MR Imaging DD 001"
SCALE_SLOPE = (0x2005, 0x0E)  # group, offset in the creator's block


def private_scale_slope(ds: Dataset) -> float | None:
    """SS of ``ds`` (positive and finite), or None when the dataset does not carry it."""
    values = decode_numbers(private_element(ds, SCALE_SLOPE[0], CREATOR, SCALE_SLOPE[1]), "f")
    if not values or not np.isfinite(values[0]) or values[0] <= 0:
        return None
    return float(values[0])


def floating_point(volume: Volume, datasets: Sequence[Dataset]) -> Volume | None:
    """``volume`` (displayed values) as Philips floating-point values, slice by slice; None unless every
    slice carries the private scale slope."""
    by_sop = {str(ds.get("SOPInstanceUID", "")): ds for ds in datasets}
    factors = []
    for sop in volume.sop_instance_uids:
        ds = by_sop.get(sop)
        scale = private_scale_slope(ds) if ds is not None else None
        if ds is None or scale is None:
            return None
        factors.append(1.0 / (float(ds.get("RescaleSlope", 1.0) or 1.0) * scale))
    return volume.with_array(volume.array * np.array(factors)[:, None, None])


def carries_scale(datasets: Sequence[Dataset]) -> bool:
    """True when any dataset of the series carries the private scale slope."""
    return any(private_scale_slope(ds) is not None for ds in datasets)
