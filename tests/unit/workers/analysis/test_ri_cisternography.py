"""RI cisternography analyser on the phantoms (truth in truth.json) and on bad input, real files included."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from scipy import ndimage
from verdict_words import assert_readable

from workers.analysis import ANALYSERS, run_analysers
from workers.analysis.base import QcStatus, SeriesInput
from workers.analysis.ri import RiCisternographyAnalyser
from workers.analysis.ri.views import View, view_of
from workers.criteria.levels import LevelRange, parse_level
from workers.inventory import SeriesInventory, classify_series
from workers.phantom import write_phantom
from workers.phantom.nm_model import Grid

PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _series(folder: Path) -> list[tuple[SeriesInventory, list[pydicom.Dataset]]]:
    groups: dict[str, list[pydicom.Dataset]] = {}
    for f in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(f)
        groups.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    return [(classify_series(g), g) for g in groups.values()]


def _run(series: list[tuple[SeriesInventory, list[pydicom.Dataset]]]):
    return RiCisternographyAnalyser().run(tuple(SeriesInput(inv, dss) for inv, dss in series), {})


def _span(levels: list[str]) -> LevelRange:
    return LevelRange(parse_level(levels[0])[0], parse_level(levels[-1])[1])


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    names = ("ri_normal", "ri_unilateral_localized", "ri_asymmetric", "ri_symmetric_cervicothoracic",
             "ri_symmetric_lumbar", "ri_circulation_failure", "ri_early_bladder", "ri_bone_scan", "ri_renal",
             "ri_single_view", "ri_unlabelled_views", "ri_views_in_comments", "ri_motion", "ri_scoliosis",
             "ri_low_counts", "ri_missing_24h")  # fmt: skip
    root = tmp_path_factory.mktemp("ri")
    return {n: write_phantom(root / n, n, seed=11).outdir for n in names}


def test_the_analyser_is_registered() -> None:
    assert any(isinstance(a, RiCisternographyAnalyser) for a in ANALYSERS)


@pytest.mark.parametrize(
    "scenario",
    ["ri_unilateral_localized", "ri_asymmetric", "ri_symmetric_cervicothoracic", "ri_symmetric_lumbar"],
)
def test_each_accumulation_pattern_is_found_with_overlapping_levels(studies, scenario: str) -> None:
    truth = json.loads((studies[scenario] / "truth.json").read_text())["findings"][0]
    result = _run(_series(studies[scenario]))
    assert {v.status for v in result.qc} == {QcStatus.OK}
    found = [f.finding for f in result.findings if f.finding and f.finding["kind"] == "epidural_accumulation"]
    assert len(found) == 1, found
    assert found[0]["pattern"] == truth["pattern"]
    assert found[0]["source"] == "automated"
    assert _span(found[0]["levels"]).overlaps(_span(truth["levels"]))
    assert "approximate" in next(f.description for f in result.findings if f.finding is found[0])
    assert any(m.name == "ri_paraspinal_lr_ratio" for m in result.measurements)


def test_normal_study_gives_no_candidate_and_the_residual(studies) -> None:
    result = _run(_series(studies["ri_normal"]))
    assert [v.status for v in result.qc] == [QcStatus.OK] * 4
    assert result.findings == []
    residual = next(m for m in result.measurements if m.name == "ri_residual_24h")
    assert residual.unit == "%" and 30.0 < residual.value < 90.0


def test_circulation_failure_needs_and_reports_earlier_cisternal_filling(studies) -> None:
    result = _run(_series(studies["ri_circulation_failure"]))
    kinds = [f.finding for f in result.findings if f.finding]
    assert kinds == [{"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": True,
                      "source": "automated"}]  # fmt: skip
    ratio = next(m for m in result.measurements if m.name == "ri_convexity_cistern_ratio")
    assert ratio.value < 1.0


def test_early_bladder_is_reported(studies) -> None:
    result = _run(_series(studies["ri_early_bladder"]))
    assert [f.finding["kind"] for f in result.findings if f.finding] == ["early_bladder"]


def test_residual_is_lower_after_a_leak(studies) -> None:
    normal = _run(_series(studies["ri_normal"]))
    leak = _run(_series(studies["ri_asymmetric"]))
    value = {r: next(m.value for m in x.measurements if m.name == "ri_residual_24h")
             for r, x in (("normal", normal), ("leak", leak))}  # fmt: skip
    assert value["leak"] < value["normal"] - 10.0


@pytest.mark.parametrize(
    ("scenario", "status", "words"),
    [
        ("ri_bone_scan", QcStatus.FAILED, "not a cisternography"),
        ("ri_renal", QcStatus.FAILED, "not a cisternography"),
        ("ri_single_view", QcStatus.FAILED, "1 view"),
        ("ri_unlabelled_views", QcStatus.FAILED, "unlabelled"),
        ("ri_motion", QcStatus.UNRELIABLE, "patient motion"),
        ("ri_scoliosis", QcStatus.UNRELIABLE, "scoliosis"),
        ("ri_low_counts", QcStatus.UNRELIABLE, "counts too low"),
        ("ri_missing_24h", QcStatus.UNRELIABLE, "no 24 h views"),
    ],
)
def test_bad_input_gives_a_verdict_with_its_reason_and_no_candidate(studies, scenario, status, words) -> None:
    result = _run(_series(studies[scenario]))
    assert result.findings == []
    assert result.qc and {v.status for v in result.qc} == {status}
    assert all(words in v.reason for v in result.qc), [v.reason for v in result.qc]


def test_views_named_only_in_image_comments_are_read(studies) -> None:
    result = _run(_series(studies["ri_views_in_comments"]))
    assert {v.status for v in result.qc} == {QcStatus.OK}
    assert result.findings == []


def test_real_whole_body_bone_scan_from_pydicom_is_refused_with_its_reason() -> None:
    # pydicom's own test file (read from the package folder): an NM whole-body bone scan, secondary capture.
    ds = pydicom.dcmread(PYDICOM_TEST_FILES / "JPEG-lossy.dcm")
    assert ds.Modality == "NM"
    output = run_analysers([(classify_series([ds]), [ds])], levels={})
    verdicts = [v for v in output.qc if v.analyser == "ri_cisternography"]
    assert len(verdicts) == 1 and verdicts[0].status is QcStatus.FAILED
    assert verdicts[0].reason == "not a cisternography: WHOLE BODY BONE"
    assert output.candidate_findings == []


def test_a_view_without_its_acquisition_time_fails_the_study(studies) -> None:
    # The normal study with one view's times removed (on real counts: test_qc_branches_real_data.py).
    series = _series(studies["ri_normal"])
    ds = series[0][1][0]
    for keyword in ("AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime", "SeriesDate", "SeriesTime"):
        if keyword in ds:
            delattr(ds, keyword)
    result = _run(series)
    assert result.findings == [] and {v.status for v in result.qc} == {QcStatus.FAILED}
    assert all(v.reason == "1 view without a time after the injection" for v in result.qc)


def test_a_time_point_without_its_anterior_view_is_unreliable(studies) -> None:
    # The normal study without the anterior view of its 24-h time point (on real counts, where the column's
    # ends are not found as well: test_qc_branches_real_data.py).
    series = _series(studies["ri_normal"])
    kept = []
    for inventory, datasets in series:
        left = [ds for ds in datasets if not _is_24h_anterior(view_of(ds, inventory.series_uid))]
        if left:
            kept.append((inventory, left))
    assert sum(len(d) for _, d in kept) == sum(len(d) for _, d in series) - 1
    result = _run(kept)
    assert result.findings == [] and {v.status for v in result.qc} == {QcStatus.UNRELIABLE}
    assert all("anterior view missing at the 24 h time point" in v.reason for v in result.qc)


def _is_24h_anterior(view: View) -> bool:
    return view.projection == "anterior" and 18.0 <= float(view.hours or 0.0) <= 30.0


# --- QC branches on the normal study perturbed (the oblique column on the phantom only: it is judged on the
# column between its ends, which the one real NM view, a bone scan, never gives; the other two also on real
# counts in test_qc_branches_real_data.py, as are too few counts and motion between views) ---------------------


def _verdicts_of_perturbed(studies, perturb: Callable[[pydicom.Dataset], None]) -> list[Any]:
    """The normal study with ``perturb`` applied to every view, through run_analysers: one verdict per series,
    each readable, and nothing graded or flagged."""
    series = _series(studies["ri_normal"])
    for _, datasets in series:
        for ds in datasets:
            perturb(ds)
    output = run_analysers(series, levels={}, analysers=[RiCisternographyAnalyser()], workers=1)
    assert output.findings == [] and output.candidate_findings == []
    assert all(r.findings == [] and r.measurements == [] for r in output.results)
    verdicts = [v for v in output.qc if v.analyser == "ri_cisternography"]
    assert len(verdicts) == len(series) == 4
    for verdict in verdicts:
        assert_readable(verdict)
    return verdicts


def _no_tracer_and_no_description(ds: pydicom.Dataset) -> None:
    info = ds.RadiopharmaceuticalInformationSequence[0]
    del info.RadionuclideCodeSequence, info.Radiopharmaceutical, info.RadiopharmaceuticalCodeSequence
    ds.StudyDescription = "NM static"
    ds.SeriesDescription = "Static"


def test_a_study_naming_neither_the_tracer_nor_a_cisternography_fails(studies) -> None:
    # The injection time stays (the views are still timed): only what says which exam this is goes.
    verdicts = _verdicts_of_perturbed(studies, _no_tracer_and_no_description)
    assert {v.status for v in verdicts} == {QcStatus.FAILED}
    assert {v.reason for v in verdicts} == {
        "neither the tracer (In-111) nor the description says this is a cisternography"
    }


def _rotated(degrees: float) -> Callable[[pydicom.Dataset], None]:
    """The patient lying ``degrees`` off the table's axis: one turn in the patient's frame, so the anterior
    and posterior images (mirrored left to right) turn opposite ways."""

    def perturb(ds: pydicom.Dataset) -> None:
        sign = 1.0 if ds.PatientOrientation[0] == "L" else -1.0
        turned = ndimage.rotate(ds.pixel_array.astype(float), sign * degrees, reshape=False, order=1)
        ds.PixelData = np.rint(turned).clip(0, 65535).astype(np.uint16).tobytes()

    return perturb


def test_a_column_tilted_12_degrees_is_oblique_positioning(studies) -> None:
    verdicts = _verdicts_of_perturbed(studies, _rotated(12.0))
    assert {v.status for v in verdicts} == {QcStatus.UNRELIABLE}
    reasons = {v.reason for v in verdicts}
    assert len(reasons) == 1, reasons
    match = re.fullmatch(r"oblique positioning: the column is tilted (\d+) degrees", reasons.pop())
    assert match is not None and 11 <= int(match[1]) <= 13, match


def _head_out_of_the_field(ds: pydicom.Dataset) -> None:
    # every row from the top of the field to 20 mm below the foramen magnum (z = 0) left without counts
    pixels = ds.pixel_array.copy()
    pixels[Grid().z >= -20.0] = 0
    ds.PixelData = pixels.tobytes()


def test_views_without_the_head_do_not_show_the_column_ends(studies) -> None:
    verdicts = _verdicts_of_perturbed(studies, _head_out_of_the_field)
    assert {v.status for v in verdicts} == {QcStatus.UNRELIABLE}
    assert {v.reason for v in verdicts} == {"the column's ends (foramen magnum, end of the sac) were not found"}
