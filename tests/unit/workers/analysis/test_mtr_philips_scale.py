"""MTR from a Philips MT-off / MT-on pair whose private scale slopes (2005,xx0E) differ: both are put on the
floating-point scale FP = DV / (RescaleSlope x SS) before the ratio; when only one series carries the private
slope the scales cannot be reconciled and the MTR is unreliable, with the reason.

Real pixels (sct_testing_data mt, wrapped as DICOM) with synthetic Philips headers: MT-on is stored at half
its signal with RescaleSlope x SS = 0.5 (MT-off: 1), so that the floating-point values are the original signal."""

from __future__ import annotations

import numpy as np
import pydicom
from series_inputs import series_input

from workers.analysis.base import QcStatus
from workers.analysis.cord.quantitative import MtrAnalyser
from workers.analysis.philips_scale import CREATOR, floating_point, private_scale_slope
from workers.analysis.volume import load_volume


def _philips(datasets: list[pydicom.Dataset], factor: float) -> None:
    """A private scale slope SS with RescaleSlope x SS = ``factor``: FP = DV / ``factor``."""
    for ds in datasets:
        ds.Manufacturer = "Philips Medical Systems"
        scale = factor / float(ds.get("RescaleSlope", 1.0) or 1.0)
        ds.private_block(0x2005, CREATOR, create=True).add_new(0x0E, "FL", scale)


def _halved(datasets: list[pydicom.Dataset]) -> None:
    for ds in datasets:
        pixels = ds.pixel_array
        ds.PixelData = np.round(pixels / 2.0).astype(pixels.dtype).tobytes()


def _mtr(wrap, off_scale: float | None, on_scale: float | None, halve_on: bool):  # type: ignore[no-untyped-def]
    off_ds, on_ds = wrap("mt/mt0.nii.gz", "axial"), wrap("mt/mt1.nii.gz", "axial")
    for ds in on_ds:
        ds.SequenceVariant = ["SP", "MTC"]
    if halve_on:
        _halved(on_ds)
    if off_scale is not None:
        _philips(off_ds, off_scale)
    if on_scale is not None:
        _philips(on_ds, on_scale)
    mask = load_volume(wrap("mt/mt0_seg.nii.gz", "axial")).array > 0.5
    off = series_input(off_ds, series_uid="off", sequence="MT", plane="axial", description="mt0")
    on = series_input(on_ds, series_uid="on", sequence="MT", plane="axial", description="mt1")
    return MtrAnalyser().run((off, on), {"mt_cord_mask": mask})


def test_private_scale_slope_is_read_through_its_creator(wrap) -> None:
    datasets = wrap("mt/mt1.nii.gz", "axial")
    assert private_scale_slope(datasets[0]) is None
    for ds in datasets:
        ds.RescaleSlope = 2.0
    _philips(datasets, 0.5)
    assert private_scale_slope(datasets[0]) == 0.25
    volume = load_volume(datasets)
    fp = floating_point(volume, datasets)
    assert fp is not None
    assert np.allclose(fp.array, volume.array / (2.0 * 0.25))
    del datasets[3][0x2005, 0x100E]  # a slice without it: no floating-point volume
    assert floating_point(volume, datasets) is None


def test_different_private_slopes_are_put_on_one_scale(wrap) -> None:
    plain = _mtr(wrap, None, None, halve_on=False).measurements[0].value
    biased = _mtr(wrap, None, None, halve_on=True).measurements[0].value
    assert biased - plain > 20.0  # MT-on at half its signal: the MTR is far too high on displayed values
    result = _mtr(wrap, 1.0, 0.5, halve_on=True)
    assert abs(result.measurements[0].value - plain) <= 0.5, (result.measurements[0].value, plain)
    assert "scale" not in result.qc[0].reason


def test_a_private_slope_on_one_series_only_makes_the_mtr_unreliable(wrap) -> None:
    result = _mtr(wrap, None, 0.5, halve_on=True)
    verdict = result.qc[0]
    assert verdict.status is QcStatus.UNRELIABLE
    assert "different intensity scales" in verdict.reason and "MT-on only" in verdict.reason
