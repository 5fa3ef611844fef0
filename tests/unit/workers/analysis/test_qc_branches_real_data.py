"""The QC branches that had no test on real data, each reached by a perturbation of a real volume
(sct_testing_data wrapped as DICOM: real pixels, SYNTHETIC headers): cropped, relabelled, a slice removed or
moved, or the real outline widened. Each asserts the verdict, that its reason is words a person reads (no
rule ID, no field name), and that the output is neither graded nor flagged.

The carry-through test at the end takes one real failed verdict from ``spinenode analyse --json`` through the
pipeline to the SR (a qualitative evaluation with its reason) and the card's quality line.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from dicom_testfiles import dicom_test_file
from pydicom.uid import generate_uid
from scipy import ndimage
from series_inputs import series_input, stated_inventory
from verdict_words import assert_readable

from node.cli import main
from tests.unit.workers.analysis.conftest import SCT, header
from workers.analysis import run_analysers
from workers.analysis.base import QcStatus, QcVerdict, SeriesInput
from workers.analysis.canal import CanalAnalyser
from workers.analysis.cord import qc
from workers.analysis.cord.analyser import CordMorphometryAnalyser
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.boundary import rasterise
from workers.analysis.cord.centreline import Polarity
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.quantitative import DtiAnalyser, MtrAnalyser
from workers.analysis.cord.segmentation import CordSegmentation, segment_cord
from workers.analysis.ctm import CtMyelographyAnalyser
from workers.analysis.marrow.analyser import MarrowAdcAnalyser
from workers.analysis.qc import enforce
from workers.analysis.ri import RiCisternographyAnalyser
from workers.analysis.ri.reading import read_column
from workers.analysis.ri.views import View
from workers.analysis.volume import load_volume
from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti
from workers.phantom.nm_dicom import Tracer, nm_dataset
from workers.pipeline import STEPS, PipelineContext, SeriesFiles


def _image(path: str) -> nib.Nifti1Image:
    if not (SCT / path).exists():
        pytest.skip(f"real data {SCT / path} not available")
    return nib.load(SCT / path)


def _wrapped(data: np.ndarray, affine: np.ndarray, plane: str = "axial", **kwargs: Any) -> list[pydicom.Dataset]:
    return wrap_nifti(nib.Nifti1Image(data, affine), WrapSpec(f"{plane} crop", plane), header(), **kwargs)


def _t2() -> tuple[np.ndarray, np.ndarray]:
    """The real T2 (1 mm, axes P, S, R) and its affine."""
    image = _image("t2/t2.nii.gz")
    return np.asanyarray(image.dataobj).astype(np.float32), image.affine


def _run(datasets: list[pydicom.Dataset], analyser: Any, sequence: str = "T2", **kwargs: Any) -> Any:
    """``analyser`` through run_analysers (where verdicts are enforced), no levels, in this process."""
    inventory = stated_inventory(datasets, sequence=sequence, plane="axial", modality="MR", **kwargs)
    return run_analysers([(inventory, datasets)], levels={}, analysers=[analyser], workers=1)


def _only_verdict(output: Any, analyser: str) -> QcVerdict:
    verdicts = [v for v in output.qc if v.analyser == analyser]
    assert len(verdicts) == 1, output.qc
    return verdicts[0]


def _not_graded(output: Any) -> None:
    assert output.findings == [] and output.candidate_findings == []
    texts = [f.description for r in output.results for f in r.findings] + [n for r in output.results for n in r.notes]
    assert not any("narrowed" in t for t in texts), texts


# --- cord segmentation QC (workers/analysis/cord/qc.py) ---------------------------------------------------


def test_a_crop_beside_the_neck_has_no_cord_and_fails() -> None:
    # The 14 rightmost mm of the real T2: neck muscle, no canal on any slice.
    data, affine = _t2()
    output = _run(_wrapped(data[..., :14], affine), CordMorphometryAnalyser())
    verdict = _only_verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.FAILED and verdict.reason == "no cord found in the field of view"
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_a_crop_holding_the_canal_on_a_third_of_its_slices_fails() -> None:
    # The 25 most anterior mm of the real T2: the vertebral bodies, the canal only at the front edge of a few
    # slices; what is found there is no evidence of the cord over the series.
    data, affine = _t2()
    output = _run(_wrapped(data[:25], affine), CordMorphometryAnalyser())
    verdict = _only_verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason.startswith("no cord in most of the field (found on ") and "% of the slices" in verdict.reason
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_a_t2_read_with_the_t1_polarity_puts_the_mask_off_the_canal_centre_and_is_not_graded() -> None:
    # The real axial T2 given to the cord analyser as a T1 (CSF dark; select() offers it only T2 and
    # steady-state series, so the analyser is run directly, and its result enforced as run_analysers does):
    # the tracker looks for a bright cord in dark fluid and lands beside the canal. With levels given, the
    # compression check must not run on that output.
    data, affine = _t2()
    datasets = _wrapped(data, affine)
    z = [float(ds.ImagePositionPatient[2]) for ds in datasets]
    top, bottom = max(z), min(z)
    step = (top - bottom) / 4
    levels = {f"C{3 + i}": (top - i * step, top - (i + 1) * step) for i in range(4)}
    series = series_input(datasets, sequence="T1", plane="axial", modality="MR")
    result = enforce(CordMorphometryAnalyser().run(series, {"levels": levels}), series)
    assert len(result.qc) == 1
    verdict = result.qc[0]
    assert verdict.status is QcStatus.UNRELIABLE
    assert "mask off the canal centre (" in verdict.reason and "mm from the body's midline)" in verdict.reason
    assert_readable(verdict)
    assert result.details["compression"] is None
    assert "cord compression not assessed: the cord output is not reliable" in result.notes
    assert not any(m.name.startswith(("cord compression", "MSCC")) for m in result.measurements)
    assert result.findings == []


def _real_t2_segmentation() -> CordSegmentation:
    data, affine = _t2()
    return segment_cord(AxialView.of(load_volume(_wrapped(data, affine))), polarity=Polarity.CSF_BRIGHT)


def _outline_scaled(seg: CordSegmentation, factor: np.ndarray | float) -> CordSegmentation:
    """``seg`` with its contours' radii times ``factor`` (per slice or one number), the mask drawn again."""
    radii = seg.radii * (np.asarray(factor)[:, None] if np.ndim(factor) else factor)
    mask = rasterise(seg.view.array.shape, seg.view.spacing, seg.centres, radii, seg.found)
    return replace(seg, radii=radii, mask=mask)


def _verdict_of(seg: CordSegmentation) -> QcVerdict:
    return qc.assess("cord_morphometry", "1.2.3", seg, slice_morphometry(seg))


def test_an_outline_spilling_onto_the_fluid_is_not_a_uniform_cord_and_then_not_set_off_from_it() -> None:
    # The real T2 outline widened to 1.3 times its radii takes in the CSF ring (as the contour "outside the
    # cord" of the report did); at 1.5 times the fluid is inside and the ring around it is no brighter.
    seg = _real_t2_segmentation()
    assert _verdict_of(seg).status is QcStatus.OK
    wide = _verdict_of(_outline_scaled(seg, 1.3))
    assert wide.status is QcStatus.UNRELIABLE
    assert "the outline is not a uniform cord (" in wide.reason and "as bright as the fluid)" in wide.reason
    assert_readable(wide)
    wider = _verdict_of(_outline_scaled(seg, 1.5))
    assert wider.status is QcStatus.UNRELIABLE
    assert "not clearly set off from the fluid around it (weak contrast)" in wider.reason
    assert_readable(wider)


def test_an_outline_alternating_in_size_from_slice_to_slice_is_an_implausible_shape() -> None:
    # Every other real T2 outline shrunk to 0.8 of its radii (0.64 of its area, still a human area and less
    # than a halving): the median change between neighbours is far above what a cord does.
    seg = _real_t2_segmentation()
    factor = np.where(np.arange(seg.radii.shape[0]) % 2 == 0, 0.8, 1.0)
    verdict = _verdict_of(_outline_scaled(seg, factor))
    assert verdict.status is QcStatus.UNRELIABLE
    assert re.search(r"implausible shape \(area changes by \d+ % between slices\)", verdict.reason), verdict.reason
    assert "factor of" not in verdict.reason  # not the halving check: no neighbour halves
    assert_readable(verdict)


def test_an_ap_rl_ratio_no_cord_has_is_an_implausible_shape() -> None:
    # The real T2's own figures with the AP/RL ratio alone changed: no perturbation of the real volumes tried
    # (outlines squeezed or stretched, pixel spacing stated wrong along one axis) moves the ratio past 0.35 or
    # 1.25 without an earlier check (area, pixels across, continuity) firing first.
    seg = _real_t2_segmentation()
    figures = qc.figures(seg, slice_morphometry(seg))
    assert qc.AP_RL_RANGE[0] <= figures.ap_rl <= qc.AP_RL_RANGE[1]
    for ratio in (0.3, 1.4):
        verdict = qc.verdict("cord_morphometry", "1.2.3", replace(figures, ap_rl=ratio), seg.view.spacing[0])
        assert (
            verdict.status is QcStatus.UNRELIABLE and verdict.reason == f"implausible shape (AP/RL ratio {ratio:.2f})"
        )
        assert_readable(verdict)


# --- geometry that cannot be trusted (workers/analysis/volume.py, via the cord analyser) ----------------------


def _mixed_orientation(datasets: list[pydicom.Dataset]) -> None:
    datasets[3].ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]  # one slice sagittal-ish: coronal


def _duplicate_position(datasets: list[pydicom.Dataset]) -> None:
    datasets[3].ImagePositionPatient = list(datasets[4].ImagePositionPatient)


def _other_pixel_spacing(datasets: list[pydicom.Dataset]) -> None:
    datasets[3].PixelSpacing = [0.9, 0.9]


def _other_matrix(datasets: list[pydicom.Dataset]) -> None:
    ds = datasets[3]
    pixels = ds.pixel_array[:-2]  # two rows cropped off one slice
    ds.Rows = pixels.shape[0]
    ds.PixelData = pixels.tobytes()


def _no_position(datasets: list[pydicom.Dataset]) -> None:
    del datasets[3].ImagePositionPatient


def _no_pixels(datasets: list[pydicom.Dataset]) -> None:
    del datasets[3].PixelData  # a header without its pixels and without a file to read them from


@pytest.mark.parametrize(
    ("defect", "words"),
    [
        (_no_position, "the image position is missing on a slice"),
        (_no_pixels, "a slice has no pixel data and no file to read it from"),
        (_mixed_orientation, "the slices are not all in one orientation (mixed orientations in one series)"),
        (_duplicate_position, "two slices are at the same position"),
        (_other_pixel_spacing, "the slices do not all have one pixel spacing (0.9 x 0.9 mm against 1 x 1 mm)"),
        (_other_matrix, "the slices are not all of one size (58 x 52 against 60 x 52 pixels)"),
    ],
)
def test_a_stack_whose_geometry_cannot_be_trusted_fails_with_what_is_wrong(defect: Any, words: str) -> None:
    data, affine = _t2()
    datasets = _wrapped(data, affine)
    defect(datasets)
    output = _run(datasets, CordMorphometryAnalyser())
    verdict = _only_verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == f"geometry that cannot be trusted: {words}"
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_levels_given_upside_down_fail_the_cord_output_in_words() -> None:
    data, affine = _t2()
    datasets = _wrapped(data, affine)
    inventory = stated_inventory(datasets, sequence="T2", plane="axial", modality="MR")
    output = run_analysers(
        [(inventory, datasets)], levels={"C3": (-40.0, 0.0)}, analysers=[CordMorphometryAnalyser()], workers=1
    )
    verdict = _only_verdict(output, "cord_morphometry")
    assert verdict.status is QcStatus.FAILED
    assert "level C3: its top (z -40.0 mm) lies below its bottom (z 0.0 mm)" in verdict.reason
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


# --- canal analyser: a series that raises, on the run's process pool (canal.py, segmentations.py) ----------


def test_a_broken_axial_series_beside_an_intact_one_fails_the_canal_output_on_two_workers() -> None:
    # Two real axial series (T2 and T2*), the second without its fifth slice; each series is analysed in a pool
    # worker and the broken one's exception is raised again in the run, as one by one, failing the analyser.
    data, affine = _t2()
    intact = _wrapped(data, affine)
    image = _image("t2s/t2s.nii.gz")
    broken = _wrapped(np.asanyarray(image.dataobj).astype(np.float32), image.affine)
    del broken[4]
    series = [(stated_inventory(ds, sequence="T2", plane="axial", modality="MR"), ds) for ds in (intact, broken)]
    output = run_analysers(series, levels={}, analysers=[CanalAnalyser()], workers=2)
    verdicts = [v for v in output.qc if v.analyser == "canal_fluid"]
    assert {v.series_uid for v in verdicts} == {str(intact[0].SeriesInstanceUID), str(broken[0].SeriesInstanceUID)}
    assert all(v.status is QcStatus.FAILED for v in verdicts)
    for verdict in verdicts:
        assert verdict.reason.startswith("the analysis could not be completed: slice spacing is not uniform (")
        assert_readable(verdict)
    _not_graded(output)


# --- DTI and MTR (workers/analysis/cord/quantitative.py) ----------------------------------------------------


def _dmri(crop: slice = slice(None)) -> list[pydicom.Dataset]:
    image = _image("dmri/dmri.nii.gz")
    data = np.asanyarray(image.dataobj).astype(np.float32)[crop]
    return _wrapped(
        data,
        image.affine,
        b_values=np.loadtxt(SCT / "dmri/bvals.txt"),
        b_vectors=np.loadtxt(SCT / "dmri/bvecs.txt"),
    )


def test_dti_on_a_crop_beside_the_cord_fails_without_a_measurement() -> None:
    output = _run(_dmri(slice(0, 12)), DtiAnalyser(), sequence="DTI")  # the 10 leftmost mm: no canal
    verdict = _only_verdict(output, "cord_dti")
    assert verdict.status is QcStatus.FAILED and verdict.reason == "no cord found in the field of view"
    assert_readable(verdict)
    assert "cord not found on the b = 0 image" in output.results[0].notes
    assert output.measurements == []
    _not_graded(output)


def test_dti_with_a_missing_slice_fails_on_geometry() -> None:
    datasets = _dmri()
    b0_slices = [ds for ds in datasets if float(ds.DiffusionBValue) == 0.0]
    datasets.remove(b0_slices[2])
    output = _run(datasets, DtiAnalyser(), sequence="DTI")
    verdict = _only_verdict(output, "cord_dti")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason.startswith("geometry that cannot be trusted: slice spacing is not uniform (")
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_dti_with_an_image_without_its_b_value_fails_in_words() -> None:
    datasets = _dmri()
    del datasets[9].DiffusionBValue
    for keyword in ("DiffusionGradientOrientation", "MRDiffusionSequence"):
        if keyword in datasets[9]:
            delattr(datasets[9], keyword)
    output = _run(datasets, DtiAnalyser(), sequence="DTI")
    verdict = _only_verdict(output, "cord_dti")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == "geometry that cannot be trusted: an image of the diffusion series has no b-value"
    assert_readable(verdict)
    _not_graded(output)


def test_dti_with_one_volume_short_of_a_slice_fails_in_words() -> None:
    datasets = _dmri()
    b750 = [ds for ds in datasets if float(ds.DiffusionBValue) > 0]
    datasets.remove(b750[-1])  # the last slice of the last direction
    output = _run(datasets, DtiAnalyser(), sequence="DTI")
    verdict = _only_verdict(output, "cord_dti")
    assert verdict.status is QcStatus.FAILED
    assert re.fullmatch(
        r"geometry that cannot be trusted: the b = 750 images of one direction hold 4 slices of \d+ x \d+ pixels, "
        r"the first volume 5 of \d+ x \d+",
        verdict.reason,
    ), verdict.reason
    assert_readable(verdict)
    _not_graded(output)


def _mt(name: str, crop: slice, uid: str, mt_on: bool) -> SeriesInput:
    image = _image(f"mt/{name}.nii.gz")
    datasets = _wrapped(np.asanyarray(image.dataobj).astype(np.float32)[crop], image.affine)
    for ds in datasets:
        ds.SequenceVariant = ["SP", "MTC"] if mt_on else ["SP"]
    return series_input(datasets, series_uid=uid, sequence="MT", plane="axial")


def test_mtr_on_a_crop_beside_the_cord_fails_without_a_measurement() -> None:
    crop = slice(0, 10)  # the 8 leftmost mm of the real MT pair: no canal
    pair = (_mt("mt0", crop, "off", False), _mt("mt1", crop, "on", True))
    result = enforce(MtrAnalyser().run(pair, {}), pair)
    verdict = result.qc[0]
    assert verdict.series_uid == "on" and verdict.status is QcStatus.FAILED
    assert verdict.reason == "no cord found in the field of view"
    assert_readable(verdict)
    assert "cord not found on the MT-off image" in result.notes
    assert result.measurements == [] and result.findings == []


# --- marrow ADC: a diffusion series that cannot be fitted (adc.py, via run_analysers) ------------------------


def test_marrow_adc_on_diffusion_with_a_missing_slice_fails_with_what_is_wrong() -> None:
    datasets = _dmri()
    b0_slices = [ds for ds in datasets if float(ds.DiffusionBValue) == 0.0]
    datasets.remove(b0_slices[2])
    bvals = sorted(set(np.loadtxt(SCT / "dmri/bvals.txt").tolist()))
    output = _run(datasets, MarrowAdcAnalyser(), sequence="DWI", b_values=bvals)
    verdict = _only_verdict(output, "marrow_adc")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason.startswith("the analysis could not be completed: slice spacing is not uniform (")
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def _sagittal_anatomy_and_dwi(
    t2: np.ndarray | None = None, b_scale: float = 1.0, t1_rows: slice = slice(None)
) -> list[tuple[Any, Any]]:
    """The real sagittal T1 and T2 and the real DWI as one study (``t2``: other T2 pixels, P, S, R; ``b_scale``:
    the b-values the DWI header states, times the true ones; ``t1_rows``: the T1 cropped from back to front)."""
    t1_image, t2_image, dwi_image = _image("t1/t1w.nii.gz"), _image("t2/t2.nii.gz"), _image("dmri/dmri.nii.gz")
    study = header()
    t1_pixels = np.asanyarray(t1_image.dataobj)[:, t1_rows]  # R, A, S: the first rows are the back of the neck
    t1 = wrap_nifti(nib.Nifti1Image(t1_pixels, t1_image.affine), WrapSpec("Sag T1", "sagittal"), study)
    t2_pixels = np.asanyarray(t2_image.dataobj) if t2 is None else t2
    t2s = wrap_nifti(nib.Nifti1Image(t2_pixels, t2_image.affine), WrapSpec("Sag T2", "sagittal"), study)
    bvals = np.loadtxt(SCT / "dmri/bvals.txt") * b_scale
    dwi = wrap_nifti(
        dwi_image, WrapSpec("Ax DWI", "axial"), study, b_values=bvals, b_vectors=np.loadtxt(SCT / "dmri/bvecs.txt")
    )
    return [
        (stated_inventory(t1, sequence="T1", plane="sagittal", modality="MR"), t1),
        (stated_inventory(t2s, sequence="T2", plane="sagittal", modality="MR"), t2s),
        (stated_inventory(dwi, sequence="DWI", plane="axial", modality="MR", b_values=sorted(set(bvals))), dwi),
    ]


def test_marrow_adc_with_no_canal_on_the_sagittal_t2_fails_saying_where_the_bodies_were_looked_for() -> None:
    # The sagittal T2 cropped to its 14 rightmost mm (no canal): the bodies are looked for in front of the canal.
    data, _ = _t2()
    output = run_analysers(_sagittal_anatomy_and_dwi(t2=data[..., :14]), levels={}, analysers=[MarrowAdcAnalyser()])
    verdict = _only_verdict(output, "marrow_adc")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == (
        "no spinal canal found on the sagittal T2 to find the vertebral bodies from, and no radiologist ROI"
    )
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_marrow_adc_with_a_t1_that_shows_no_vertebral_body_fails() -> None:
    # The sagittal T1 cropped to its 30 most posterior mm (the canal and the back of the neck, no body in
    # front of the canal the T2 shows).
    output = run_analysers(_sagittal_anatomy_and_dwi(t1_rows=slice(0, 30)), levels={}, analysers=[MarrowAdcAnalyser()])
    verdict = _only_verdict(output, "marrow_adc")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == "no vertebral body found, and no radiologist ROI"
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_marrow_adc_from_understated_b_values_is_outside_the_physiological_range() -> None:
    # The real DWI with its b = 750 stated as 250 in the header: every ADC is three times too high, and the
    # marrow the bodies give (1.1 x10^-3 mm2/s at the stated b = 750, at the top of the range) leaves it.
    output = run_analysers(_sagittal_anatomy_and_dwi(b_scale=1 / 3), levels={}, analysers=[MarrowAdcAnalyser()])
    verdict = _only_verdict(output, "marrow_adc")
    assert verdict.status is QcStatus.UNRELIABLE
    assert re.fullmatch(
        r"normal marrow ADC \d\.\d\d x10\^-3 mm2/s is outside the physiological range \(0\.1-1\.2\): the ADC map "
        r"or the bodies found cannot be trusted",
        verdict.reason,
    ), verdict.reason
    assert_readable(verdict)
    _not_graded(output)


# --- CT myelography and RI cisternography: real images under another label (ctm/, ri/) ------------------------


def _t2_labelled_ct(plane: str) -> tuple[Any, list[pydicom.Dataset]]:
    data, affine = _t2()
    datasets = _wrapped(data, affine, plane)
    for ds in datasets:
        ds.Modality = "CT"
    return stated_inventory(datasets, sequence="OTHER", plane=plane, modality="CT"), datasets


def _no_orientation(datasets: list[pydicom.Dataset]) -> None:
    for ds in datasets:
        del ds.ImageOrientationPatient


@pytest.mark.parametrize(
    ("plane", "defect", "words"),
    [
        # An MR volume's pixels are never as dark as fat: its CSF would pass for contrast in the sac.
        ("axial", None, "the pixel values are not CT numbers: nothing in the field is as dark as fat or air"),
        ("sagittal", None, "not an axial series"),
        ("axial", _no_orientation, "no image orientation: the slices cannot be placed"),
        ("axial", _other_matrix, "the analysis could not be completed: the CT slices are not all of one size (58 x 52"),
    ],
)
def test_a_real_mr_volume_labelled_ct_is_not_read_as_a_myelogram(plane: str, defect: Any, words: str) -> None:
    inventory, datasets = _t2_labelled_ct(plane)
    if defect is not None:
        defect(datasets)
    output = run_analysers([(inventory, datasets)], levels={}, analysers=[CtMyelographyAnalyser()])
    verdict = _only_verdict(output, "ct_myelography")
    assert verdict.status is QcStatus.FAILED and verdict.reason.startswith(words), verdict.reason
    assert_readable(verdict)
    assert output.measurements == []
    _not_graded(output)


def test_a_real_bone_scan_described_as_a_cisternography_is_refused_as_a_secondary_capture() -> None:
    # pydicom's NM whole-body bone scan with its study description changed: the tracer check is passed by the
    # words, but a secondary capture holds no counts.
    ds = pydicom.dcmread(Path(pydicom.__file__).parent / "data" / "test_files" / "JPEG-lossy.dcm")
    ds.StudyDescription = "In-111 DTPA cisternography"
    inventory = stated_inventory([ds], modality="NM")
    output = run_analysers([(inventory, [ds])], levels={}, analysers=[RiCisternographyAnalyser()])
    verdict = _only_verdict(output, "ri_cisternography")
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == "not NM Image Storage (a secondary capture): counts cannot be measured"
    assert_readable(verdict)
    _not_graded(output)


# --- CT myelography on real CT slices restacked into volumes (ctm/) -------------------------------------------

#: The canal of each real slice as an ellipse read off the image: centre row, centre column, half-height and
#: half-width (pixels). bad_sequence.dcm: a thoracic vertebra (rib heads beside it), 0.29 mm pixels, its canal
#: 17 x 22 mm; CT_small.dcm: a thoracic vertebra, 0.66 mm pixels, its canal about 12 x 14 mm.
CANALS = {"bad_sequence.dcm": (298, 223, 22, 30), "CT_small.dcm": (51, 58, 7, 8)}
#: What iodinated contrast adds to the CSF of a myelogram's sac (it is read between 300 and 1300 HU).
CONTRAST_HU = 550


def _real_ct(name: str, spacing_mm: float, contrast: bool = False, slices: int = 24) -> list[pydicom.Dataset]:
    """pydicom's or pydicom-data's real CT slice ``name`` restacked into ``slices`` axial slices ``spacing_mm``
    apart (positions moved down, new SOP and series UIDs; every slice the same real pixels). With
    ``contrast``, the soft tissue (under 100 HU) inside the ellipse of its canal is raised by CONTRAST_HU,
    as contrast in the CSF raises it, keeping its real noise; bone and the rest of the slice are untouched."""
    source = pydicom.dcmread(dicom_test_file(name))
    if contrast:
        stored = source.pixel_array.astype(np.int32)
        slope, intercept = float(source.RescaleSlope), float(source.RescaleIntercept)
        row, col, half_rows, half_cols = CANALS[name]
        rr, cc = np.mgrid[: stored.shape[0], : stored.shape[1]]
        canal = ((rr - row) / half_rows) ** 2 + ((cc - col) / half_cols) ** 2 <= 1.0
        stored[canal & (stored * slope + intercept < 100.0)] += round(CONTRAST_HU / slope)
        source.set_pixel_data(stored.astype(source.pixel_array.dtype), "MONOCHROME2", int(source.BitsStored))
    series_uid = generate_uid()
    out = []
    for k in range(slices):
        ds = copy.deepcopy(source)
        ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.InstanceNumber = series_uid, generate_uid(), k + 1
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, z - k * spacing_mm]
        out.append(ds)
    return out


def _ctm(datasets: list[pydicom.Dataset]) -> tuple[Any, QcVerdict]:
    inventory = stated_inventory(datasets, sequence="OTHER", plane="axial", modality="CT")
    output = run_analysers([(inventory, datasets)], levels={}, analysers=[CtMyelographyAnalyser()], workers=1)
    verdict = _only_verdict(output, "ct_myelography")
    assert_readable(verdict)
    _not_graded(output)
    return output, verdict


@pytest.mark.parametrize(
    ("name", "spacing_mm"),
    [("bad_sequence.dcm", 1.0), ("CT_small.dcm", 5.0), ("explicit_VR-UN.dcm", 2.0)],
)
def test_a_real_spine_ct_without_intrathecal_contrast_is_no_myelogram(name: str, spacing_mm: float) -> None:
    """Real: the pixels of three real CT slices through a vertebra (pydicom-data's bad_sequence.dcm and
    explicit_VR-UN.dcm, pydicom's CT_small.dcm), their cortical bone 300-1250 HU. Changed: each slice restacked
    into 24 slices (at its own slice thickness where it states one). There is no contrast in the canal: the
    bone, in the range read as contrast, is not a fluid, so nothing is the sac. (Before, the bone was taken
    for the sac and two of the three gave an epidural-contrast candidate.)"""
    output, verdict = _ctm(_real_ct(name, spacing_mm))
    assert verdict.status is QcStatus.FAILED
    assert verdict.reason == "no contrast in the dural sac on 100 % of the slices: not a CT myelogram"
    assert output.measurements == []


def _tilted_as_a_real_head_ct(datasets: list[pydicom.Dataset]) -> None:
    # the tilt and the orientation of pydicom's J2K_pixelrep_mismatch.dcm, a real head CT acquired 22 degrees
    # tilted (its orientation's column direction turned 22 degrees out of the axial plane)
    tilted = pydicom.dcmread(dicom_test_file("J2K_pixelrep_mismatch.dcm"), stop_before_pixels=True)
    for ds in datasets:
        ds.GantryDetectorTilt = tilted.GantryDetectorTilt
        ds.ImageOrientationPatient = tilted.ImageOrientationPatient


def _a_pedicle_screw_on_six_slices(datasets: list[pydicom.Dataset]) -> None:
    # 3071 HU (the top of a 12-bit CT's range, where metal saturates) in a 7 x 3.4 mm bar in the real bone on
    # the canal's right (its pedicle) on slices 8-13; no streaks are added
    for ds in datasets[8:14]:
        stored = ds.pixel_array.copy()
        stored[270:295, 184:196] = 3071 + 1024
        ds.set_pixel_data(stored, "MONOCHROME2", int(ds.BitsStored))


@pytest.mark.parametrize(
    ("name", "spacing_mm", "defect", "words"),
    [
        # CT_small.dcm states 5 mm slices: its own header, unchanged
        ("CT_small.dcm", 5.0, None, "slice thickness 5 mm (more than 3 mm)"),
        ("bad_sequence.dcm", 1.0, _tilted_as_a_real_head_ct,
         "gantry tilt 22 degrees: slices are not perpendicular to the table"),
        ("bad_sequence.dcm", 1.0, _a_pedicle_screw_on_six_slices, "metal artefact on 6 slices (z 1680 to 1674 mm)"),
    ],
)  # fmt: skip
def test_a_real_ct_with_contrast_in_its_canal_and_a_technical_fault_is_unreliable(
    name: str, spacing_mm: float, defect: Any, words: str
) -> None:
    """Real: the pixels of a real CT slice through a vertebra, restacked into 24 slices (see ``_real_ct``).
    Changed: the soft tissue of its canal raised by 550 HU, contrast in the sac; then the fault: the slice
    thickness is the real header's, the tilt a real tilted CT's header, the metal a bar of saturated values
    in the real pedicle. The sac is found on every slice, and the fault makes the reading unreliable."""
    datasets = _real_ct(name, spacing_mm, contrast=True)
    if defect is not None:
        defect(datasets)
    output, verdict = _ctm(datasets)
    assert verdict.status is QcStatus.UNRELIABLE and verdict.reason == words, verdict.reason
    sac = [m for m in output.measurements if m.name == "ctm_sac_contrast_hu"]
    assert len(sac) == 1 and 450 < sac[0].value < 700  # the real CSF and its noise, 550 HU up


def test_a_real_ct_with_contrast_only_in_its_canal_gives_no_leak() -> None:
    """Real: bad_sequence.dcm's pixels restacked into 24 slices 1 mm apart (its own thickness). Changed: the
    soft tissue of its canal raised by 550 HU. No contrast is outside the canal, so no leak may be found. The
    pedicles' and the body's cortex (300-500 HU here, the phantoms' is 1400) lies within the 35 mm read around
    the sac and no denser than it; it is part of the vertebra (dense, not a fluid, holding marrow) and is not
    read as contrast. (Before, it was read as epidural contrast on every slice.)"""
    inventory = stated_inventory(datasets := _real_ct("bad_sequence.dcm", 1.0, contrast=True), modality="CT")
    output = run_analysers([(inventory, datasets)], levels={}, analysers=[CtMyelographyAnalyser()], workers=1)
    assert _only_verdict(output, "ct_myelography").status is QcStatus.OK
    assert output.candidate_findings == []
    assert not any(m.name.startswith("ctm_epidural") for m in output.measurements)


#: What a leak adds to the soft tissue of the canal: dilute contrast (the sac here reads about 570 HU).
LEAK_HU = 450.0


def _with_a_leak(datasets: list[pydicom.Dataset], where: np.ndarray, onto_bone: bool = False) -> None:
    """Contrast ``where`` on every slice: the pixels raised by LEAK_HU (their own noise kept, as contrast raises
    fat and CSF) or, ``onto_bone``, drawn at LEAK_HU where the bone is less dense."""
    for ds in datasets:
        stored = ds.pixel_array.astype(np.int32)
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        if onto_bone:
            stored[where] = np.maximum(stored[where], round((LEAK_HU - intercept) / slope))
        else:
            stored[where] += round(LEAK_HU / slope)
        ds.set_pixel_data(stored.astype(ds.pixel_array.dtype), "MONOCHROME2", int(ds.BitsStored))


def _canal_parts() -> tuple[list[pydicom.Dataset], np.ndarray, dict[str, np.ndarray]]:
    """bad_sequence.dcm with contrast in its canal, its HU, and where leaks are drawn: ``behind`` the sac in
    the soft tissue of the canal (under 100 HU) at least 1 mm from any pixel of bone density (150 HU and up)
    and 1.1 mm from the sac; ``in front``, all the soft tissue between the sac and the back of the body, from
    the sac to the cortex; ``pedicle``, the bone (150 HU and up) of the right pedicle in a 4 x 2.3 mm ellipse beside the
    canal."""
    datasets = _real_ct("bad_sequence.dcm", 1.0, contrast=True)
    ds = datasets[0]
    hu = np.asarray(ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept))
    pixel_mm = float(ds.PixelSpacing[0])
    rr, cc = np.mgrid[: hu.shape[0], : hu.shape[1]]
    row, col, half_rows, half_cols = CANALS["bad_sequence.dcm"]
    canal = ((rr - row) / half_rows) ** 2 + ((cc - col) / half_cols) ** 2 <= 1.0
    gap = ((rr - row) / (half_rows + 4)) ** 2 + ((cc - col) / (half_cols + 4)) ** 2 <= 1.0  # 1.1 mm
    clear = ndimage.distance_transform_edt(hu < 150.0) * pixel_mm >= 1.0
    soft = hu < 100.0
    parts = {
        "behind": (((rr - 325) / 8) ** 2 + ((cc - col) / 30) ** 2 <= 1.0) & soft & ~gap & clear,
        "in front": (((rr - 274) / 8) ** 2 + ((cc - col) / 30) ** 2 <= 1.0) & soft & ~canal,
        "pedicle": (((rr - 300) / 14) ** 2 + ((cc - 263) / 8) ** 2 <= 1.0) & (hu >= 150.0) & ~canal,
    }
    return datasets, hu, {name: part for name, part in parts.items() if part.sum() * pixel_mm**2 > 15.0}


def test_a_leak_in_the_real_epidural_fat_is_found_and_one_drawn_on_the_bone_is_not() -> None:
    """Real: bad_sequence.dcm with contrast in its canal (see ``_real_ct``). Changed: 450 HU added behind the
    sac in the soft tissue of the canal with a gap to the laminae and to the sac (see ``_canal_parts``): an
    epidural leak; or, instead, contrast of 450 HU drawn onto the bone of the right pedicle (25 mm2): the
    same contrast on the vertebra, read as bone."""
    datasets, _, parts = _canal_parts()
    assert set(parts) == {"behind", "in front", "pedicle"}
    _with_a_leak(datasets, parts["behind"])
    output, verdict = _ctm_candidates(datasets)
    assert verdict.status is QcStatus.OK, verdict.reason
    assert [c["kind"] for c in output.candidate_findings] == ["epidural_contrast"]
    assert output.candidate_findings[0]["dural_defect"] is False  # a gap to the sac: no wall open
    leak_hu = [m.value for m in output.measurements if m.name == "ctm_epidural_contrast_hu"]
    assert len(leak_hu) == 1 and 400 < leak_hu[0] < 550

    datasets, _, parts = _canal_parts()
    _with_a_leak(datasets, parts["pedicle"], onto_bone=True)
    output, verdict = _ctm_candidates(datasets)
    assert verdict.status is QcStatus.OK, verdict.reason
    assert output.candidate_findings == []


def test_a_leak_against_the_real_cortex_with_no_gap_is_not_claimed() -> None:
    """Real: bad_sequence.dcm with contrast in its canal. Changed: 450 HU added to the soft tissue in front of
    the sac, filling the space up to the cortex at the back of the vertebral body: no fat or CSF is left
    between the sac, the contrast and the bone, so the contrast cannot be told from the cortex. The series
    is unreliable with that reason, and no leak is claimed."""
    datasets, _, parts = _canal_parts()
    _with_a_leak(datasets, parts["in front"])
    output, verdict = _ctm_candidates(datasets)
    assert verdict.status is QcStatus.UNRELIABLE
    assert verdict.reason == (
        "contrast outside the sac lies against bone and cannot be told from the vertebra's cortex "
        "(on 24 slices, z 1688 to 1664 mm)"
    ), verdict.reason
    assert_readable(verdict)
    _not_graded(output)


def _ctm_candidates(datasets: list[pydicom.Dataset]) -> tuple[Any, QcVerdict]:
    inventory = stated_inventory(datasets, modality="CT")
    output = run_analysers([(inventory, datasets)], levels={}, analysers=[CtMyelographyAnalyser()], workers=1)
    return output, _only_verdict(output, "ct_myelography")


# --- RI cisternography on a real NM view relabelled (ri/) --------------------------------------------------

TIMES_H = (1.0, 6.0, 24.0)
FIELD = slice(40, 560)  # the real bone scan's rows from the top of the head to below the pelvis


def _real_counts() -> np.ndarray:
    """The whole real view, integer counts (their sum is the header's counts accumulated)."""
    return pydicom.dcmread(dicom_test_file("JPEG-LL.dcm")).pixel_array.astype(np.int64)


def _real_nm_study(
    times_h: tuple[float, ...] = TIMES_H,
    views: tuple[str, ...] = ("anterior", "posterior"),
    label: bool = True,
    counts: Any = None,
) -> list[tuple[Any, list[pydicom.Dataset]]]:
    """pydicom-data's JPEG-LL.dcm (a real GE whole-body Tc-99m bone scan, 2.26 mm pixels, real counts) as an
    In-111 cisternography: its rows from the top of the head to below the pelvis (40-559), as NM Image Storage
    with the phantom's NM header (an In-111 DTPA tracer, view codes, acquisition times after the injection), one
    series per time point; the posterior view is the same real view mirrored left to right. ``counts(hours,
    view)``, where given, gives each view's counts as the anterior camera would see them (the posterior view is
    that mirrored)."""
    real = _real_counts()[FIELD]
    header = StudyHeader("Real^Bone", "RB1", generate_uid(), generate_uid(), "A1", "In-111 DTPA cisternography")
    injection = datetime(2024, 1, 1, 8, 0, 0)
    series = []
    for number, hours in enumerate(times_h, start=1):
        series_uid, datasets = generate_uid(), []
        for k, view in enumerate(views, start=1):
            seen = real if counts is None else counts(hours, view)
            pixels = np.ascontiguousarray((seen if view == "anterior" else seen[:, ::-1]).astype(np.uint16))
            datasets.append(nm_dataset(
                header, series_uid=series_uid, series_number=number, series_description=f"Cisternography {hours:g}h",
                sop_uid=generate_uid(), instance_number=k, pixels=pixels, pixel_mm=2.26, view=view,
                injection=injection, acquired=injection + timedelta(hours=hours, minutes=25 * (k - 1)),
                duration_s=1210.4, tracer=Tracer(), label_view=label,
            ))  # fmt: skip
        series.append((stated_inventory(datasets, modality="NM"), datasets))
    return series


def _ri(series: list[tuple[Any, list[pydicom.Dataset]]]) -> tuple[QcStatus, str]:
    """The one verdict every series gets, readable, and nothing graded, flagged or measured."""
    output = run_analysers(series, levels={}, analysers=[RiCisternographyAnalyser()], workers=1)
    _not_graded(output)
    assert output.measurements == []
    verdicts = [v for v in output.qc if v.analyser == "ri_cisternography"]
    assert len(verdicts) == len(series)
    for verdict in verdicts:
        assert_readable(verdict)
    assert len({(v.status, v.reason) for v in verdicts}) == 1, verdicts
    return verdicts[0].status, verdicts[0].reason


def _without_times(series: list[tuple[Any, list[pydicom.Dataset]]]) -> list[tuple[Any, list[pydicom.Dataset]]]:
    ds = series[0][1][0]
    for keyword in ("AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime", "SeriesDate", "SeriesTime"):
        delattr(ds, keyword)
    return series


def _naming_neither_tracer_nor_exam(
    series: list[tuple[Any, list[pydicom.Dataset]]],
) -> list[tuple[Any, list[pydicom.Dataset]]]:
    for _, datasets in series:
        for ds in datasets:
            info = ds.RadiopharmaceuticalInformationSequence[0]
            del info.RadionuclideCodeSequence, info.Radiopharmaceutical, info.RadiopharmaceuticalCodeSequence
            ds.StudyDescription, ds.SeriesDescription = "NM static", "Static"
    return series


def _without_the_24h_anterior(
    series: list[tuple[Any, list[pydicom.Dataset]]],
) -> list[tuple[Any, list[pydicom.Dataset]]]:
    inventory, datasets = series[-1]
    series[-1] = (inventory, [ds for ds in datasets if ds.ImageID != "ANTERIOR"])
    return series


ENDS = "the column's ends (foramen magnum, end of the sac) were not found"


@pytest.mark.parametrize(
    ("study", "status", "reason"),
    [
        (lambda: _real_nm_study((1.0,), ("anterior",)), QcStatus.FAILED,
         "1 view: a cisternography needs anterior and posterior views at several time points"),
        (lambda: _real_nm_study(label=False), QcStatus.FAILED,
         "6 of 6 views unlabelled (no view code, orientation or description)"),
        (lambda: _without_times(_real_nm_study()), QcStatus.FAILED, "1 view without a time after the injection"),
        (lambda: _naming_neither_tracer_nor_exam(_real_nm_study()), QcStatus.FAILED,
         "neither the tracer (In-111) nor the description says this is a cisternography"),
        # the time points are judged before the column; a bone scan has no cisterns above its column
        (lambda: _real_nm_study((1.0, 6.0)), QcStatus.UNRELIABLE, f"time point missing: no 24 h views; {ENDS}"),
        (lambda: _without_the_24h_anterior(_real_nm_study()), QcStatus.UNRELIABLE,
         f"anterior view missing at the 24 h time point; {ENDS}"),
        (_real_nm_study, QcStatus.UNRELIABLE, ENDS),
    ],
)  # fmt: skip
def test_a_real_nm_view_relabelled_as_a_cisternography_gets_the_verdict_of_its_defect(
    study: Any, status: QcStatus, reason: str
) -> None:
    """Real: the counts of a real whole-body bone scan view (see ``_real_nm_study``). Changed: the header, as a
    complete In-111 study of anterior and posterior views at 1, 6 and 24 h, then the defect: one view only,
    no view labels, one view without its acquisition times, no tracer and no words naming the exam, the 24-h
    series left out, the 24-h anterior view left out. The complete study itself: bone shows no CSF column
    between cisterns and the end of the sac, so the column's ends are not found."""
    assert _ri(study()) == (status, reason)


MID_SPINE_BAND_COUNTS = re.compile(r"counts too low: (\d+) per 10-mm band of the column \(noise over 10 %\)")


def _real_mid_spine_band_counts() -> float:
    """The real view's median counts per 10-mm band over the middle half of its followed column."""
    column = read_column(View("posterior", 6.0, _real_counts()[FIELD][:, ::-1].astype(float), 1210.4, 2.26, False,
                              "", ""))  # fmt: skip
    n = len(column.counts)
    return float(np.median(column.counts[n // 4 : 3 * n // 4]))


@pytest.mark.parametrize("fraction", [0.1, 0.02])
def test_a_real_view_thinned_to_a_shorter_acquisition_has_too_few_counts(fraction: float) -> None:
    """Real: the counts of the real bone scan (see ``_real_nm_study``). Changed: every view thinned, each
    pixel's real counts kept each with probability ``fraction`` (numpy's binomial): exactly the counts the same
    patient gives in ``fraction`` of the 20-min acquisition, or with that fraction of the dose. At a tenth (2
    min) the middle of the spine still holds about 270 counts per 10-mm band, enough, and the study keeps the
    real reason (no cisterns above a bone column). At a fiftieth (24 s) it holds about 54, noise over 10 %:
    too few counts is the reason, said alone, as it is what the acquisition gave and the column's ends cannot
    be judged on such noise."""
    rng = np.random.default_rng(20240101)
    real = _real_counts()[FIELD]
    status, reason = _ri(_real_nm_study(counts=lambda hours, view: rng.binomial(real, fraction)))
    assert status is QcStatus.UNRELIABLE
    expected = fraction * _real_mid_spine_band_counts()
    if expected >= 100.0 * 1.2:
        assert reason == ENDS
    else:
        match = MID_SPINE_BAND_COUNTS.fullmatch(reason)
        assert match is not None, reason
        # binomial thinning scales the expected counts by the fraction: the median band, within its noise
        assert abs(int(match[1]) - expected) <= 4.0 * math.sqrt(expected), (match[1], expected)


@pytest.mark.parametrize("rows", [0, 2, 9, -9, 13])
def test_a_real_patient_moving_between_the_two_views_of_a_time_point_is_motion(rows: int) -> None:
    """Real: the real bone scan's counts split binomially in two halves (each pixel's counts, each count to one
    view with probability 1/2), the anterior and the posterior view of each time point: two independent real
    count images of one patient, as two camera heads give. Changed: at 6 h the posterior view's field is the
    real scan's rows ``rows`` further (2.26 mm each): on a parallel-hole collimator, exactly the image of a
    patient who moved that far along the table between the two views. The column's ends are not found on bone,
    so the shift is measured on the whole rows along the lit column; more than 10 mm (the collimator's
    resolution at the spine) is motion, named beside the ends not found, and within a pixel of the true shift."""
    rng = np.random.default_rng(7)
    real = _real_counts()

    def counts(hours: float, view: str) -> np.ndarray:
        start = FIELD.start + (rows if (hours, view) == (6.0, "posterior") else 0)
        return rng.binomial(real[start : start + FIELD.stop - FIELD.start], 0.5)

    status, reason = _ri(_real_nm_study(counts=counts))
    assert status is QcStatus.UNRELIABLE
    moved = abs(rows) * 2.26
    if moved <= 10.0:
        assert reason == ENDS
    else:
        match = re.fullmatch(rf"patient motion between the views at 6 h \((\d+) mm\); {re.escape(ENDS)}", reason)
        assert match is not None, reason
        assert abs(int(match[1]) - moved) <= 2.26, (match[1], moved)


# --- carry-through: spinenode analyse --json, the SR and the card ---------------------------------------------


def _items(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    out = []
    for item in ds.get("ContentSequence", []):
        out.append(item)
        out += _items(item)
    return out


def test_a_real_failed_verdict_reaches_the_json_the_sr_and_the_card(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real T2's 25 most anterior mm (no cord in most of the field) as an axial T2 study on disk.
    data, affine = _t2()
    datasets = _wrapped(data[:25], affine)
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for k, ds in enumerate(datasets):
        ds.SeriesDescription = "Ax T2"
        paths.append(folder / f"im{k:03d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    assert main(["analyse", str(folder), "--json"]) == 0
    item = json.loads(capsys.readouterr().out)[0]
    cord = [v for v in item["qc"] if v["analyser"] == "cord_morphometry"]
    assert len(cord) == 1 and cord[0]["status"] == "failed"
    reason = cord[0]["reason"]
    assert reason.startswith("no cord in most of the field")
    assert not any(m["name"].startswith("cord_") for m in item["measurements"])
    assert not any("narrowed" in str(c) for c in item["candidates"])

    ctx = PipelineContext(
        study_uid=str(datasets[0].StudyInstanceUID),
        revision=1,
        series=[SeriesFiles(str(datasets[0].SeriesInstanceUID), tuple(paths))],
        content_datetime=datetime(2026, 12, 2, 4, 0, 0),
        output_dir=tmp_path / "out",
    )
    for name in ("inventory", "analysis", "criteria", "results"):
        STEPS[name](ctx)
    sr = pydicom.dcmread(ctx.results["SR"])
    items = _items(sr)
    codes = [str(i.ConceptCodeSequence[0].CodeValue) for i in items if i.get("ValueType") == "CODE"]
    texts = [str(i.TextValue) for i in items if i.get("ValueType") == "TEXT"]
    assert "QC-FAILED" in codes and reason in texts  # the qualitative evaluation and its reason, as JSON says
    assert f"Quality: failed, not graded: {reason}" in [line for s in ctx.sections for line in s.lines]
    assert not any("narrowed" in f for f in ctx.flags)
