"""CT myelography analyser on the phantoms (truth in truth.json) and on bad input, real CT files included."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from workers.analysis import ANALYSERS, run_analysers
from workers.analysis.base import QcStatus, SeriesInput
from workers.analysis.ctm import CtMyelographyAnalyser
from workers.inventory import SeriesInventory, classify_series
from workers.phantom import write_phantom

PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
GANTRY_TILT = Path("/work/shared/data/dicom/dicom2nifti/failing/gantrytilting/001")


def _series(folder: Path) -> tuple[SeriesInventory, list[pydicom.Dataset]]:
    datasets = [pydicom.dcmread(f) for f in sorted(folder.rglob("*.dcm"))]
    return classify_series(datasets), datasets


def _run(series: tuple[SeriesInventory, list[pydicom.Dataset]]):
    return CtMyelographyAnalyser().run((SeriesInput(*series),), {})


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    names = ("ctm_epidural_leak", "ctm_dural_defect", "ctm_puncture_site", "ctm_subdural", "ctm_no_contrast",
             "ctm_thick_slices", "ctm_metal", "ctm_gantry_tilt")  # fmt: skip
    root = tmp_path_factory.mktemp("ctm")
    return {n: write_phantom(root / n, n, seed=5).outdir for n in names}


def test_the_analyser_is_registered() -> None:
    assert any(isinstance(a, CtMyelographyAnalyser) for a in ANALYSERS)


@pytest.mark.parametrize("scenario", ["ctm_epidural_leak", "ctm_dural_defect", "ctm_puncture_site", "ctm_subdural"])
def test_each_leak_is_found_with_its_levels_and_continuity(studies, scenario: str) -> None:
    truth = json.loads((studies[scenario] / "truth.json").read_text())["findings"][0]
    result = _run(_series(studies[scenario]))
    assert [v.status for v in result.qc] == [QcStatus.OK]
    found = [f.finding for f in result.findings if f.finding]
    assert len(found) == 1, found
    assert found[0] == truth  # kind, levels (named from anchors that agree), the three continuity fields
    assert any(m.name == "ctm_sac_contrast_hu" and 300 < m.value < 1300 for m in result.measurements)
    prefix = "ctm_subdural" if truth["kind"] == "subdural_contrast" else "ctm_epidural"
    extent = next(m for m in result.measurements if m.name == f"{prefix}_extent")
    assert extent.unit == "mm" and extent.value > 20.0


@pytest.mark.parametrize(
    ("scenario", "status", "words"),
    [
        ("ctm_no_contrast", QcStatus.FAILED, "no contrast in the dural sac"),
        ("ctm_thick_slices", QcStatus.UNRELIABLE, "slice thickness 5 mm"),
        ("ctm_metal", QcStatus.UNRELIABLE, "metal artefact"),
        ("ctm_gantry_tilt", QcStatus.UNRELIABLE, "gantry tilt 12 degrees"),
    ],
)
def test_technical_failures_give_a_verdict_and_no_candidate(studies, scenario, status, words) -> None:
    result = _run(_series(studies[scenario]))
    assert result.findings == []
    assert [v.status for v in result.qc] == [status]
    assert words in result.qc[0].reason


def test_levels_come_from_anchors_that_agree(studies) -> None:
    result = _run(_series(studies["ctm_epidural_leak"]))
    assert any("C2 (body and dens) and first rib (T1)" in n for n in result.notes)
    levels = next(iter(result.details["levels"].values()))
    assert list(levels)[:3] == ["C1", "C2", "C3"]


def test_real_single_ct_slice_from_pydicom_is_not_a_myelogram() -> None:
    ds = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    output = run_analysers([(classify_series([ds]), [ds])], levels={})
    verdict = next(v for v in output.qc if v.analyser == "ct_myelography")
    assert verdict.status is QcStatus.FAILED and "axial volume" in verdict.reason
    assert output.candidate_findings == []


@pytest.mark.skipif(not GANTRY_TILT.is_dir(), reason="shared/data/dicom not present on this machine")
def test_real_gantry_tilted_ct_gets_a_verdict() -> None:
    datasets = [pydicom.dcmread(f) for f in sorted(GANTRY_TILT.iterdir())]
    result = CtMyelographyAnalyser().run((SeriesInput(classify_series(datasets), datasets),), {})
    assert result.findings == [] and result.qc[0].status is QcStatus.FAILED  # too few slices to read at all


def test_a_normal_whole_spine_study_gives_no_candidate_and_four_anchors(tmp_path: Path) -> None:
    # 348 slices; its speed is measured in benchmarks/accuracy_ri_ctm.py, not here.
    study = write_phantom(tmp_path / "n", "ctm_normal", seed=2)
    result = _run(_series(study.outdir))
    assert result.findings == [] and [v.status for v in result.qc] == [QcStatus.OK]
    assert any("sacrum" in n for n in result.notes)
