"""Accuracy and time of the cord analysers on real MRI (sct_testing_data wrapped as DICOM: real pixels,
synthetic headers) and of the marrow ADC on the phantom. Run: ``python benchmarks/accuracy_cord.py``."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
from workers.analysis.levels import body_profile, canal_line, estimate_levels, find_bodies
from workers.analysis.volume import load_volume
from workers.inventory.series import classify_series
from workers.phantom import write_phantom
from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti

SCT = Path(__file__).resolve().parents[2] / "shared" / "data" / "sct_testing_data"


def _header() -> StudyHeader:
    return StudyHeader("BENCH^REAL", "B1", str(generate_uid()), str(generate_uid()), "B1", "benchmark")


def _wrap(path: str, plane: str) -> list[pydicom.Dataset]:
    return wrap_nifti(nib.load(SCT / path), WrapSpec(path, plane), _header())


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


def _phantom_series(tmp: str, scenario: str, seed: int) -> tuple[Any, list[Any]]:
    study = write_phantom(Path(tmp), scenario, seed=seed)
    groups: dict[str, list[pydicom.Dataset]] = {}
    for p in study.files:
        ds = pydicom.dcmread(p)
        groups.setdefault(ds.SeriesInstanceUID, []).append(ds)
    return study, [(classify_series(d).to_json(), d) for d in groups.values()]


def levels() -> None:
    """Automatic levels: body tops against the phantom truth (C2 excluded: the dens is C2 bone above its
    body); disc heights on the real t2 against the labelled cord mask."""
    for scenario in ("simple", "marrow_lesion", "epidural_fluid", "msam"):
        with tempfile.TemporaryDirectory() as tmp:
            study, series = _phantom_series(tmp, scenario, 11)
            start = time.perf_counter()
            estimate = estimate_levels([SeriesInput(inv, dss) for inv, dss in series])
            seconds = time.perf_counter() - start
        truth = {lv["name"]: lv["z_top_mm"] for lv in study.truth["levels"]}
        assert estimate is not None
        named = set(estimate.levels) == set(truth)
        errors = [abs(top - truth[n]) for n, (top, _) in estimate.levels.items() if n in truth and n != "C2"]
        print(
            f"levels {scenario}: {len(estimate.levels)}/{len(truth)} named {'correctly' if named else 'WRONG'}, "
            f"body top error max {max(errors, default=float('nan')):.1f} mm, anchor {estimate.anchor}, "
            f"{seconds:.2f} s"
        )
    volume = load_volume(wrap_nifti(nib.load(SCT / "t2/t2.nii.gz"), WrapSpec("Sag T2 C3-C5", "sagittal"), _header()))
    z, deviation = body_profile(volume, canal_line(volume))
    bodies = find_bodies(z, deviation)
    found = [0.5 * (bodies[i][1] + bodies[i + 1][0]) for i in range(len(bodies) - 1)]
    image = nib.load(SCT / "t2/t2_seg-manual_labeled.nii.gz")
    lab = np.asanyarray(image.dataobj)
    zr = {v: nib.affines.apply_affine(image.affine, np.argwhere(lab == v))[:, 2] for v in np.unique(lab)[1:]}
    values = sorted(zr)
    truth_discs = [0.5 * (zr[a].min() + zr[b].max()) for a, b in zip(values, values[1:], strict=False)]
    pairs = [(f, min(truth_discs, key=lambda t: abs(t - f))) for f in found]
    print(
        "levels real t2: discs found at "
        + ", ".join(f"{f:.1f} (truth {t:.1f})" for f, t in pairs)
        + f" mm; {len(truth_discs)} discs in the labelled mask"
    )


def annotation_rois() -> None:
    """ADC in radiologist ROIs (SR circle, GSPS ellipse and polygon) drawn inside the phantom lesions."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.unit.workers.analysis.test_annotation_rois import _gsps, _pixel, _sr

    with tempfile.TemporaryDirectory() as tmp:
        study, series = _phantom_series(tmp, "marrow_lesion", 11)
        dwi = next(dss for inv, dss in series if inv.get("sequence") == "DWI")
        b0 = [ds for ds in dwi if float(ds.get("DiffusionBValue", 0) or 0) == 0.0]
        extra = []
        truth = {}
        for i, lesion in enumerate(study.truth["marrow_lesions"]):
            centre = np.asarray(lesion["centre_mm"])
            image = min(b0, key=lambda ds: abs(float(ds.ImagePositionPatient[0]) - centre[0]))
            px = _pixel(image, centre)
            ann = _sr(image, px, radius_px=2.2) if i == 0 else _gsps(image, px, half_px=2.0)
            extra.append(({"modality": "SR" if i == 0 else "PR", "series_uid": str(ann.SeriesInstanceUID)}, [ann]))
            truth[lesion["level"]] = lesion["adc_mm2_s"]
        out = run_analysers(series + extra)
    result = next(r for r in out.results if r.analyser == "marrow_adc")
    for roi in result.details["rois"]:
        if roi.origin == "annotation" and roi.level in truth:
            err = 100 * (roi.adc_mean / truth[roi.level] - 1)
            print(f"annotation {roi.name}: {roi.adc_mean * 1e3:.3f} x10^-3 mm2/s, {roi.voxels} voxels ({err:+.1f} %)")


if __name__ == "__main__":
    cord_t2()
    mtr()
    marrow_phantom()
    levels()
    annotation_rois()
