"""Automatic vertebral levels and canal candidates on phantoms, through the criteria engine.

Truth: the phantom's analytic levels (truth.json) and its epidural collection / anterior-horn lesion.
Tolerance for levels: every body top within 3 mm of truth (sagittal pixels are 1 mm, endplates are blurred).
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from workers.analysis import run_analysers, study_context_kwargs
from workers.criteria import StudyContext, evaluate, parse_findings
from workers.inventory.series import classify_series
from workers.phantom import write_phantom

LEVEL_TOLERANCE_MM = 3.0


def _run(tmp: Path, scenario: str):
    study = write_phantom(tmp, scenario, seed=5)
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for path in study.files:
        ds = pydicom.dcmread(path)
        by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    series = [(classify_series(dss), dss) for dss in by_series.values()]
    return study, run_analysers(series)  # no levels given: they are estimated


@pytest.fixture(scope="module")
def epidural(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("epidural"), "epidural_fluid")


@pytest.fixture(scope="module")
def msam(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("msam"), "msam")


def _check_levels(study, output) -> None:
    assert output.level_source.startswith("automatic, anchor: C2")
    truth = {lv["name"]: lv for lv in study.truth["levels"]}
    assert set(output.levels) == set(truth)
    for name, (top, _) in output.levels.items():
        if name == "C2":  # the dens belongs to C2: its bone starts above the body
            assert top >= truth[name]["z_top_mm"]
            continue
        assert top == pytest.approx(truth[name]["z_top_mm"], abs=LEVEL_TOLERANCE_MM), name


def test_levels_are_estimated_without_being_given(epidural) -> None:
    study, output = epidural
    _check_levels(study, output)
    cord = next(r for r in output.results if r.analyser == "cord_morphometry")
    # The axial T2 (measured in preference to the sagittal) covers C6 to T3.
    assert {m.level for m in cord.measurements if m.level} >= {"C7", "T1", "T2"}
    assert any(m.name.startswith("cord CSA z-score") for m in cord.measurements)


def test_epidural_candidate_validates_and_grades_with_confirmation(epidural) -> None:
    study, output = epidural
    candidates = output.candidate_findings
    assert len(candidates) == 1
    found = candidates[0]
    expected = study.truth["findings"][0]
    assert {k: found[k] for k in expected} == expected  # C7 to T2, as in truth
    assert found["source"] == "automated" and found["sop_instance_uids"]
    result = evaluate(parse_findings({"findings": candidates}))
    spinal = result.to_json()["per_exam"]["spinal_mri"]
    assert spinal["grade"] != "NOT_ASSESSED" and "CSF-LEAK-MR-1" in spinal["rules"]
    assert spinal["needs_confirmation"] is True


def test_msam_gives_anterior_horn_range_and_duro_flag(msam) -> None:
    study, output = msam
    _check_levels(study, output)
    truth_level = study.truth["anterior_horn_hyperintensity"]["level"]
    assert output.context_hints["anterior_horn_hyperintensity"] == (truth_level, truth_level)
    document = parse_findings({"findings": output.candidate_findings})
    context = StudyContext(**study_context_kwargs(output))
    assert context.anterior_horn_hyperintensity is not None
    result = evaluate(document, context)
    assert result.duro_flags, result.to_json()
    without = evaluate(document, StudyContext())
    assert not without.duro_flags


def test_healthy_phantom_gives_no_canal_candidate(tmp_path: Path) -> None:
    _, output = _run(tmp_path, "simple")
    assert output.candidate_findings == []
    assert "anterior_horn_hyperintensity" not in output.context_hints
