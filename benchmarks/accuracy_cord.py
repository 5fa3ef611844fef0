"""Accuracy and time of the cord analysers on real MRI (sct_testing_data wrapped as DICOM: real pixels,
synthetic headers) and of the marrow ADC on the phantom. Run: ``python benchmarks/accuracy_cord.py``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.uid import generate_uid

from workers.analysis import run_analysers
from workers.analysis.base import SeriesInput
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.quantitative import MtrAnalyser
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.volume import load_volume
from workers.inventory.series import classify_series
from workers.phantom import write_phantom
from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti

SCT = Path("/work/shared/data/sct_testing_data")


def _wrap(path: str, plane: str) -> list[pydicom.Dataset]:
    header = StudyHeader("BENCH^REAL", "B1", str(generate_uid()), str(generate_uid()), "B1", "benchmark")
    return wrap_nifti(nib.load(SCT / path), WrapSpec(path, plane), header)


def cord_t2() -> None:
    for plane in ("sagittal", "axial"):
        volume = load_volume(_wrap("t2/t2.nii.gz", plane))
        manual = load_volume(_wrap("t2/t2_seg-manual.nii.gz", plane)).array > 0.5
        start = time.perf_counter()
        view = AxialView.of(volume)
        seg = segment_cord(view)
        slices = slice_morphometry(seg)
        seconds = time.perf_counter() - start
        ours = view.to_source(seg.mask)
        dice = 2 * (ours & manual).sum() / (ours.sum() + manual.sum())
        mview = AxialView.of(volume.with_array(manual.astype(np.float32))).array > 0.5
        manual_csa = np.mean([mview[s.slice_index].sum() * np.cos(np.radians(s.angle_deg)) for s in slices])
        ours_csa = np.mean([s.csa_mm2 for s in slices])
        print(
            f"t2 as {plane:8s}: Dice {dice:.3f}  mean CSA {ours_csa:.1f} vs manual {manual_csa:.1f} mm2 "
            f"({100 * (ours_csa / manual_csa - 1):+.1f} %)  {seconds:.2f} s/series"
        )


def mtr() -> None:
    off = SeriesInput({"series_uid": "off", "sequence": "MT", "plane": "axial"}, _wrap("mt/mt0.nii.gz", "axial"))
    on_ds = _wrap("mt/mt1.nii.gz", "axial")
    for ds in on_ds:
        ds.SequenceVariant = ["SP", "MTC"]
    on = SeriesInput({"series_uid": "on", "sequence": "MT", "plane": "axial"}, on_ds)
    mask = load_volume(_wrap("mt/mt1_seg.nii.gz", "axial")).array > 0.5
    ref = load_volume(_wrap("mt/mtr.nii.gz", "axial")).array
    start = time.perf_counter()
    given = MtrAnalyser().run((off, on), {"mt_cord_mask": mask}).measurements[0].value
    seconds = time.perf_counter() - start
    auto = MtrAnalyser().run((off, on), {}).measurements[0].value
    print(
        f"MTR in mt1_seg: {given:.2f} vs reference {np.mean(ref[mask & np.isfinite(ref)]):.2f} %; "
        f"automatic mask: {auto:.2f} %  {seconds:.2f} s/pair"
    )


def marrow_phantom() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = write_phantom(Path(tmp), "marrow_lesion", seed=11)
        groups: dict[str, list[pydicom.Dataset]] = {}
        for p in study.files:
            ds = pydicom.dcmread(p)
            groups.setdefault(ds.SeriesInstanceUID, []).append(ds)
        series = [(classify_series(d).to_json(), d) for d in groups.values()]
        levels = {lv["name"]: (lv["z_top_mm"], lv["z_bottom_mm"] - 5.0) for lv in study.truth["levels"]}
        start = time.perf_counter()
        out = run_analysers(series, levels=levels)
        seconds = time.perf_counter() - start
    adc = {m.level: m.value for m in out.measurements if m.concept.value == "113041"}
    for lesion in study.truth["marrow_lesions"]:
        got = adc.get(lesion["level"])
        err = "not found" if got is None else f"{100 * (got / lesion['adc_mm2_s'] - 1):+.1f} %"
        print(
            f"phantom lesion {lesion['level']}: truth {lesion['adc_mm2_s'] * 1e3:.2f}, measured "
            f"{(got or 0) * 1e3:.3f} x10^-3 mm2/s ({err})"
        )
    print(f"phantom study, all analysers: {seconds:.2f} s")


if __name__ == "__main__":
    cord_t2()
    mtr()
    marrow_phantom()
