"""Accuracy and time of the cord analysers on real MRI (sct_testing_data and the public SCT example and
tutorial data, see ``cord_volumes.py``, wrapped as DICOM: real pixels, synthetic headers) and of the marrow
ADC on the phantom. Run: ``python benchmarks/accuracy_cord.py``."""

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
from workers.analysis.cord import qc
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import polarity_of
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.quantitative import DtiAnalyser, MtrAnalyser
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.levels import body_profile, canal_line, estimate_levels, find_bodies
from workers.analysis.volume import load_volume
from workers.inventory.series import SeriesInventory, classify_series
from workers.phantom import write_phantom
from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cord_volumes import CORD_CASES, DTI_CASES, MT_CASES, resolve  # noqa: E402

SCT = Path(__file__).resolve().parents[2] / "shared" / "data" / "sct_testing_data"


def _header() -> StudyHeader:
    return StudyHeader("BENCH^REAL", "B1", str(generate_uid()), str(generate_uid()), "B1", "benchmark")


def _wrap(path: str, plane: str) -> list[pydicom.Dataset]:
    return wrap_nifti(nib.load(SCT / path), WrapSpec(path, plane), _header())


def _wrap_path(path: Path, plane: str, **kwargs: Any) -> list[pydicom.Dataset]:
    return wrap_nifti(nib.load(path), WrapSpec(path.name, plane), _header(), **kwargs)


def _load(path: Path, plane: str) -> Any:
    return load_volume(_wrap_path(path, plane))


def cord_volumes() -> None:
    """Per volume: Dice and mean-CSA error against the expert mask (where there is one), QC verdict, time."""
    print("| volume | contrast | Dice | CSA ours / manual (mm2) | CSA error | QC | s/series wall (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    dice_by_contrast: dict[str, list[float]] = {}
    for case in CORD_CASES:
        image = resolve(case.image)
        if image is None:
            print(f"| {case.name} | {case.contrast} | not available | | | | |")
            continue
        volume = _load(image, case.plane)
        start, cpu = time.perf_counter(), time.process_time()
        view = AxialView.of(volume)
        seg = segment_cord(view, polarity=polarity_of(case.sequence))
        slices = slice_morphometry(seg)
        verdict, seg, slices = qc.review("cord_morphometry", "bench", seg, slices)
        seconds = f"{time.perf_counter() - start:.2f} ({time.process_time() - cpu:.2f})"
        status = verdict.status.value + (f" ({verdict.reason})" if verdict.reason else "")
        ours_csa = float(np.mean([s.csa_mm2 for s in slices])) if slices else float("nan")
        mask_path = resolve(case.mask)
        if mask_path is None:
            print(f"| {case.name} | {case.contrast} | no mask | {ours_csa:.1f} / - | - | {status} | {seconds} |")
            continue
        manual = _load(mask_path, case.plane).array > 0.5
        ours = view.to_source(seg.mask)
        dice = float(2 * (ours & manual).sum() / max(ours.sum() + manual.sum(), 1))
        dice_by_contrast.setdefault(case.contrast, []).append(dice)
        mview = AxialView.of(volume.with_array(manual.astype(np.float32))).array > 0.5
        _, sy, sx = view.spacing
        both = [s for s in slices if mview[s.slice_index].any()]
        manual_csa = (
            float(np.mean([mview[s.slice_index].sum() * sy * sx * np.cos(np.radians(s.angle_deg)) for s in both]))
            if both
            else float("nan")
        )
        ours_both = float(np.mean([s.csa_mm2 for s in both])) if both else float("nan")
        print(
            f"| {case.name} | {case.contrast} | {dice:.3f} | {ours_both:.1f} / {manual_csa:.1f} | "
            f"{100 * (ours_both / manual_csa - 1):+.1f} % | {status} | {seconds} |"
        )
    for contrast, values in dice_by_contrast.items():
        print(f"median Dice {contrast}: {np.median(values):.3f} over {len(values)} volume(s)")


def _mt_series(path: Path, uid: str, on: bool) -> SeriesInput:
    datasets = _wrap_path(path, "axial")
    if on:
        for ds in datasets:
            ds.SequenceVariant = ["SP", "MTC"]
    return SeriesInput(SeriesInventory(uid, "", "", len(datasets), plane="axial", sequence="MT"), datasets)


def mtr() -> None:
    """MTR in the automatic mask (MT-off segmentation, MT-on registered) against the value in the expert mask."""
    print("| MT pair | MTR automatic (%) | MTR in expert mask (%) | difference | QC | s/pair wall (CPU) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case in MT_CASES:
        off_path, on_path = resolve(case.off), resolve(case.on)
        if off_path is None or on_path is None:
            print(f"| {case.name} | not available | | | | |")
            continue
        off, on = _mt_series(off_path, "off", False), _mt_series(on_path, "on", True)
        start, cpu = time.perf_counter(), time.process_time()
        result = MtrAnalyser().run((off, on), {})
        seconds = f"{time.perf_counter() - start:.2f} ({time.process_time() - cpu:.2f})"
        auto = result.measurements[0].value if result.measurements else float("nan")
        verdict = result.qc[0]
        status = verdict.status.value + (f" ({verdict.reason})" if verdict.reason else "")
        reference = float("nan")
        mask_off, mask_on, ref_map = resolve(case.mask_off), resolve(case.mask_on), resolve(case.reference)
        if mask_on is not None and ref_map is not None:
            ref = _load(ref_map, "axial").array
            m = _load(mask_on, "axial").array > 0.5
            reference = float(np.mean(ref[m & np.isfinite(ref)]))
        elif mask_on is not None:  # no reference map: the MTR formula in the expert mask, without registration
            m = _load(mask_on, "axial").array > 0.5
            m0 = load_volume(off.datasets).array.astype(float)
            ms = load_volume(on.datasets).array.astype(float)
            reference = float(np.mean((100.0 * (m0 - ms) / np.maximum(m0, 1e-6))[m & (m0 > 0)]))
        elif mask_off is not None:
            given = MtrAnalyser().run((off, on), {"mt_cord_mask": _load(mask_off, "axial").array > 0.5})
            reference = given.measurements[0].value
        diff = f"{auto - reference:+.1f}" if np.isfinite(reference) else "-"
        ref_text = f"{reference:.1f}" if np.isfinite(reference) else "no expert mask"
        print(f"| {case.name} | {auto:.1f} | {ref_text} | {diff} | {status} | {seconds} |")


def dti() -> None:
    """Mean FA in the automatic cord mask and its QC verdict (FA outside 0.5-0.85 is unreliable)."""
    for name, image_ref, bvals_ref, bvecs_ref in DTI_CASES:
        paths = [resolve(r) for r in (image_ref, bvals_ref, bvecs_ref)]
        if any(p is None for p in paths):
            print(f"DTI {name}: not available")
            continue
        image, bvals, bvecs = (p for p in paths if p is not None)
        datasets = _wrap_path(image, "axial", b_values=np.loadtxt(bvals), b_vectors=np.loadtxt(bvecs))
        series = SeriesInput(SeriesInventory("dti", "", "", len(datasets), plane="axial", sequence="DTI"), datasets)
        start = time.perf_counter()
        result = DtiAnalyser().run(series, {})
        seconds = time.perf_counter() - start
        fa = next((m.value for m in result.measurements if m.name == "cord FA"), float("nan"))
        verdict = result.qc[0]
        print(
            f"DTI {name}: FA {fa:.2f} in {int(result.details.get('mask', np.zeros(1)).sum())} voxels, QC "
            f"{verdict.status.value} {verdict.reason}  {seconds:.2f} s"
        )


def marrow_phantom() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = write_phantom(Path(tmp), "marrow_lesion", seed=11)
        groups: dict[str, list[pydicom.Dataset]] = {}
        for p in study.files:
            ds = pydicom.dcmread(p)
            groups.setdefault(ds.SeriesInstanceUID, []).append(ds)
        series = [(classify_series(d), d) for d in groups.values()]
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
    return study, [(classify_series(d), d) for d in groups.values()]


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
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from tests.unit.workers.analysis.test_annotation_rois import _gsps, _pixel, _sr

    with tempfile.TemporaryDirectory() as tmp:
        study, series = _phantom_series(tmp, "marrow_lesion", 11)
        dwi = next(dss for inv, dss in series if inv.sequence == "DWI")
        b0 = [ds for ds in dwi if float(ds.get("DiffusionBValue", 0) or 0) == 0.0]
        extra = []
        truth = {}
        for i, lesion in enumerate(study.truth["marrow_lesions"]):
            centre = np.asarray(lesion["centre_mm"])
            image = min(b0, key=lambda ds: abs(float(ds.ImagePositionPatient[0]) - centre[0]))
            px = _pixel(image, centre)
            ann = _sr(image, px, radius_px=2.2) if i == 0 else _gsps(image, px, half_px=2.0)
            modality = "SR" if i == 0 else "PR"
            extra.append((SeriesInventory(str(ann.SeriesInstanceUID), modality, "", 1), [ann]))
            truth[lesion["level"]] = lesion["adc_mm2_s"]
        out = run_analysers(series + extra)
    result = next(r for r in out.results if r.analyser == "marrow_adc")
    for roi in result.details["rois"]:
        if roi.origin == "annotation" and roi.level in truth:
            err = 100 * (roi.adc_mean / truth[roi.level] - 1)
            print(f"annotation {roi.name}: {roi.adc_mean * 1e3:.3f} x10^-3 mm2/s, {roi.voxels} voxels ({err:+.1f} %)")


if __name__ == "__main__":
    cord_volumes()
    mtr()
    dti()
    marrow_phantom()
    levels()
    annotation_rois()
