"""The node's SR as the readers a hospital really has read it: dciodvfy, highdicom's SR reader, DCMTK dsr2html
and dcmjs (the library under OHIF and Cornerstone), on phantoms run through the real pipeline.

dcmjs comes from the npm registry into tests/js/node_modules (scripts/setup-test-env installs it; the test
itself is offline)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import pytest
from phantom_pipeline import run_phantom
from pydicom import dcmread

from workers.pipeline import PipelineContext
from workers.results.validate import dciodvfy_errors

pytestmark = pytest.mark.integration
JS = Path(__file__).resolve().parents[1] / "js"


def _run(root: Path, scenario: str) -> PipelineContext:
    return run_phantom(root, scenario)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        scenario: _run(tmp_path_factory.mktemp(scenario), scenario).results["SR"]
        for scenario in ("cord_compression", "marrow_lesion")
    }


def _dcmjs(path: Path) -> dict[str, list[dict[str, object]]]:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "dcmjs").is_dir():
        pytest.fail("dcmjs is not installed: run scripts/setup-test-env (npm install in tests/js)")
    done = subprocess.run([node, str(JS / "read_sr.js"), str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(("scenario", "concept"), [("cord_compression", "42798000"), ("marrow_lesion", "113041")])
def test_dcmjs_cornerstone_adapters_hydrate_the_roi(reports: dict[str, Path], scenario: str, concept: str) -> None:
    path = reports[scenario]
    sr = hd.sr.srread(path)
    rois = sr.content.get_planar_roi_measurement_groups()
    measured = [g for g in rois if any(m.name.value == concept for m in g.get_measurements())]
    assert measured, f"a TID 1410 group with the {scenario} measurement"
    region = measured[0].roi
    assert region is not None and region.graphic_type.value == "POLYLINE"
    points = region.value
    assert len(points) >= 4 and tuple(points[0]) == tuple(points[-1]), "a closed outline"
    sop = region.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID

    read = _dcmjs(path)
    legacy = [a for a in read["cornerstone"] if a["sop"] == sop]
    modern = [a for a in read["cornerstone3d"] if str(a["sop"]).endswith(sop)]
    assert legacy and legacy[0]["tool"] == "FreehandRoi" and int(legacy[0]["points"]) >= 3  # type: ignore[call-overload]
    assert modern and modern[0]["tool"] == "PlanarFreehandROI" and int(modern[0]["points"]) >= 3  # type: ignore[call-overload]


def test_dciodvfy_and_dsr2html_read_item_by_item(reports: dict[str, Path], tmp_path: Path) -> None:
    for scenario, path in reports.items():
        assert dciodvfy_errors(path) == [], scenario
        done = subprocess.run(["dsr2html", "+U8", str(path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        html = done.stdout
        assert "Severity" in html and "Finding Site" in html, "concept names shown, not run-on text"
        assert "CONTINUOUS" not in str(dcmread(path).get("ContinuityOfContent"))
    html = subprocess.run(["dsr2html", "+U8", str(reports["cord_compression"])], capture_output=True, text=True).stdout
    assert "Cord compression 46 % at C5" in html or "Cord compression 4" in html
    assert "Spinal cord" in html and "C5 vertebra" in html


def test_highdicom_reads_the_coded_findings_with_stable_tracking(reports: dict[str, Path]) -> None:
    sr = hd.sr.srread(reports["marrow_lesion"])
    groups = sr.content.get_image_measurement_groups()
    lesions = [g for g in groups if g.finding_type is not None and g.finding_type.value == "52988006"]
    assert lesions, "a coded marrow lesion"
    sites = {s.value.meaning for g in lesions for s in g.finding_sites}
    assert "Bone marrow" in sites and "T2 vertebra" in sites
    evaluations = {e.name.meaning: e.value.meaning for e in lesions[0].get_qualitative_evaluations()}
    assert evaluations["Severity"] == "Severe"
    assert evaluations["Marrow ADC verdict (VB-ADC-1)"].startswith("Suspicious for malignancy")


def test_a_leak_not_graded_reads_as_not_graded_in_highdicom_and_dsr2html(tmp_path: Path) -> None:
    # ctm_metal: the only exam, a CT myelogram, failed its quality check (metal artefact).
    path = _run(tmp_path, "ctm_metal").results["SR"]
    assert dciodvfy_errors(path) == []
    sr = hd.sr.srread(path)
    leak = [
        g
        for g in sr.content.get_image_measurement_groups()
        if g.finding_type is not None and g.finding_type.value == "230744007"
    ]
    assert len(leak) == 2, "the CSF-LEAK-DX group and the CT myelography group"
    for group in leak:
        evaluations = {e.name.meaning: e.value.meaning for e in group.get_qualitative_evaluations()}
        assert evaluations["Criteria grade"] == "Not graded: the examination could not be assessed"
    html = subprocess.run(["dsr2html", "+U8", str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Examination could not be assessed" in html and "metal artefact" in html
    assert "CSF leak: not graded: CT myelography could not be assessed" in html
    assert "CSF leak: none" not in html and "CSF leak: NONE" not in html
