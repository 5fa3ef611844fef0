"""``spinenode analyse``: the JSON contract of shared/spec/architecture.md on a phantom study, the DICOM
Segmentation (dciodvfy, highdicom reader), bad input and exit codes, and every study of shared/data/dicom."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import highdicom as hd
import pytest
from pydicom import dcmread

from node.cli import main
from workers.phantom import write_phantom
from workers.results.validate import dciodvfy_errors

MEASUREMENTS = {
    "cord_csa", "cord_ap_diameter", "cord_rl_diameter", "cord_compression_ratio", "cord_mscc", "cord_fa",
    "cord_md", "cord_mtr", "marrow_adc", "cord_csa_zscore",
}  # fmt: skip
LEVEL_NAMES = {f"C{i}" for i in range(1, 8)} | {f"T{i}" for i in range(1, 13)} | {f"L{i}" for i in range(1, 6)} | {"S1"}
SHARED_DICOM = next(
    (p / "shared" / "data" / "dicom" for p in Path(__file__).resolve().parents if (p / "shared" / "data").is_dir()),
    Path("shared/data/dicom"),
)


def _analyse(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["analyse", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


@pytest.fixture(scope="module")
def compression_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("study")
    return folder, write_phantom(folder / "in", "cord_compression")


def test_analysis_output_contract_and_segmentation(
    compression_study: tuple[Path, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, study = compression_study
    (folder / "in" / "notes.txt").write_text("not DICOM")
    code, out = _analyse(capsys, str(folder / "in"), "--seg-dir", str(folder / "seg"))
    assert code == 0
    assert isinstance(out, list) and len(out) == 1
    item = out[0]
    for key in ("study_uid", "series", "measurements", "candidates", "qc", "levels", "criteria", "segmentations"):
        assert key in item, key
    assert item["study_uid"] == study.study_instance_uid
    series_uids = {s["series_uid"] for s in item["series"]}
    assert all({"modality", "plane", "sequence", "region"} <= set(s) for s in item["series"])
    assert {m["name"] for m in item["measurements"]} <= MEASUREMENTS
    assert any(m["name"] == "cord_csa" and m["level"] is None for m in item["measurements"])
    assert any(m["name"] == "cord_mscc" and m["level"] == "C5" for m in item["measurements"])
    for v in item["qc"]:
        assert v["status"] in ("ok", "unreliable", "failed") and v["series_uid"] in series_uids
        assert v["status"] == "ok" or v["reason"]
    assert {v["analyser"] for v in item["qc"]} >= {"vertebral_levels", "cord_morphometry"}
    ((levels_series, named),) = item["levels"].items()
    assert levels_series in series_uids and set(named) <= LEVEL_NAMES
    assert all(top > bottom for top, bottom in named.values())
    assert item["criteria"]["ruleset"]
    assert all(c["source"] == "automated" for c in item["candidates"])
    # The segmentation: one per analysed series with masks, valid, readable, referencing the sources.
    (seg_item,) = item["segmentations"]
    assert "spinal cord" in seg_item["segments"]
    path = Path(seg_item["path"])
    if shutil.which("dciodvfy"):
        assert dciodvfy_errors(path) == []
    seg = hd.seg.segread(path)
    assert seg.number_of_segments == len(seg_item["segments"])
    assert seg.StudyInstanceUID == study.study_instance_uid
    sources = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in study.files}
    referenced = {uid for _, _, uid in seg.get_source_image_uids()}
    assert referenced and referenced <= sources
    assert seg.get_segment_description(1).SegmentLabel == "spinal cord"
    mask = seg.get_volume().array
    assert mask.any()


def test_bad_input_is_reported_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("nothing")
    code, out = _analyse(capsys, str(tmp_path))
    assert code == 2 and out == []
    code, _ = _analyse(capsys, str(tmp_path / "missing"))
    assert code == 2


def test_a_file_claiming_the_study_without_series_is_skipped(
    compression_study: tuple[Path, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, study = compression_study
    ds = dcmread(study.files[0])
    del ds.SeriesInstanceUID
    ds.save_as(tmp_path / "odd.dcm")
    code, out = _analyse(capsys, str(tmp_path))
    assert code == 2  # nothing analysable
    assert out[0]["study_uid"] == study.study_instance_uid
    assert out[0]["skipped"][0]["reason"] == "no Series Instance UID"


@pytest.mark.skipif(not SHARED_DICOM.is_dir(), reason="shared/data/dicom not available")
def test_every_shared_study_is_analysed_without_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _analyse(capsys, str(SHARED_DICOM), "--seg-dir", str(tmp_path / "seg"))
    assert code == 0
    assert len(out) >= 10
    for item in out:
        assert not [e for e in item.get("errors", []) if "failed" in e], item["errors"]
        for v in item["qc"]:
            assert v["status"] in ("ok", "unreliable", "failed") and (v["status"] == "ok" or v["reason"])
        # nothing from an output that is not ok becomes a candidate
        bad = {v["series_uid"] for v in item["qc"] if v["status"] != "ok"}
        assert not [c for c in item["candidates"] if c.get("series_uid") in bad]


def test_every_mask_gets_a_segmentation_on_its_own_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_phantom(tmp_path / "in", "marrow_lesion")
    code, out = _analyse(capsys, str(tmp_path / "in"), "--seg-dir", str(tmp_path / "seg"))
    assert code == 0
    segments = {label for s in out[0]["segmentations"] for label in s["segments"]}
    assert "vertebral bodies" in segments
    assert any(label.startswith("marrow ROI") for label in segments)
    series_of_file = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in study.files}
    for item in out[0]["segmentations"]:
        if shutil.which("dciodvfy"):
            assert dciodvfy_errors(item["path"]) == []
        seg = hd.seg.segread(item["path"])
        referenced = {uid for _, _, uid in seg.get_source_image_uids()}
        assert referenced <= set(series_of_file)
        assert {str(dcmread(series_of_file[u], stop_before_pixels=True).SeriesInstanceUID) for u in referenced} == {
            item["series_uid"]
        }


def _level_z(truth: dict[str, Any], top: str, bottom: str) -> tuple[float, float]:
    """(top, bottom) z in mm of the truth's vertebral levels ``top`` to ``bottom``."""
    z = {lv["name"]: (lv["z_top_mm"], lv["z_bottom_mm"]) for lv in truth["levels"]}
    return z[top][0], z[bottom][1]


def test_ct_myelography_segmentation_of_the_sac_and_the_leak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_phantom(tmp_path / "in", "ctm_dural_defect")
    code, out = _analyse(capsys, str(tmp_path / "in"), "--seg-dir", str(tmp_path / "seg"))
    assert code == 0
    (seg_item,) = out[0]["segmentations"]
    assert seg_item["series_uid"] == study.truth["series"][0]["series_instance_uid"]
    assert seg_item["segments"] == ["dural sac", "CSF leak"]
    if shutil.which("dciodvfy"):
        assert dciodvfy_errors(seg_item["path"]) == []
    seg = hd.seg.segread(seg_item["path"])
    assert seg.StudyInstanceUID == study.study_instance_uid
    sac, leak = seg.get_segment_description(1), seg.get_segment_description(2)
    assert (sac.SegmentLabel, leak.SegmentLabel) == ("dural sac", "CSF leak")
    assert sac.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == "SCT"
    assert leak.SegmentedPropertyTypeCodeSequence[0].CodeValue == "65216001"  # cerebrospinal fluid
    z_of: dict[int, list[float]] = {1: [], 2: []}  # z of the frames where each segment has pixels
    pixels = seg.pixel_array
    for frame, item in zip(pixels, seg.PerFrameFunctionalGroupsSequence, strict=True):
        if frame.any():
            number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
            z_of[number].append(float(item.PlanePositionSequence[0].ImagePositionPatient[2]))
    # the sac runs through the field, the leak only where the truth puts it (T1 to T2, a slice of blur allowed)
    assert len(z_of[1]) >= 0.6 * study.truth["series"][0]["images"]
    top, bottom = _level_z(study.truth, *study.truth["findings"][0]["levels"])
    assert z_of[2] and all(bottom - 3.0 <= z <= top + 3.0 for z in z_of[2])
    assert len(z_of[2]) < len(z_of[1])


def test_ct_myelography_without_a_leak_has_no_leak_segment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_phantom(tmp_path / "in", "ctm_normal")
    code, out = _analyse(capsys, str(tmp_path / "in"), "--seg-dir", str(tmp_path / "seg"))
    assert code == 0
    assert [s["segments"] for s in out[0]["segmentations"]] == [["dural sac"]]


@pytest.mark.parametrize(
    ("scenario", "exam"), [("ri_unilateral_localized", "ri_cisternography"), ("ctm_dural_defect", "ct_myelography")]
)
def test_ri_and_ct_myelography_candidates_qc_and_per_exam_grade(
    scenario: str, exam: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_phantom(tmp_path / "in", scenario)
    code, out = _analyse(capsys, str(tmp_path / "in"))
    assert code == 0
    (item,) = out
    truth = study.truth["findings"][0]
    (candidate,) = item["candidates"]
    assert (candidate["exam"], candidate["kind"], candidate["source"]) == (exam, truth["kind"], "automated")
    assert candidate.get("pattern") == truth.get("pattern")
    # the level range overlaps the truth's
    order = [lv["name"] for lv in study.truth["levels"]]
    (got_top, got_bottom), (true_top, true_bottom) = (
        [order.index(v) for v in candidate["levels"]],
        [order.index(v) for v in truth["levels"]],
    )
    assert got_top <= true_bottom and true_top <= got_bottom
    series_uids = {s["series_uid"] for s in item["series"]}
    assert item["qc"] and {v["analyser"] for v in item["qc"]} == {exam}
    for v in item["qc"]:
        assert v["status"] == "ok" and v["reason"] == "" and v["series_uid"] in series_uids
    assert candidate["series_uid"] in {v["series_uid"] for v in item["qc"]}
    per_exam = item["criteria"]["per_exam"]
    graded = per_exam[exam]
    assert graded["grade"] not in ("NONE", None) and graded["needs_confirmation"] is True
    assert [s["kind"] for s in graded["supporting"]] == [truth["kind"]]
    other = "ct_myelography" if exam == "ri_cisternography" else "ri_cisternography"
    assert per_exam[other]["grade"] == "NONE" and not per_exam[other]["supporting"]


@pytest.mark.parametrize(
    ("scenario", "exam", "why"),
    [
        ("ctm_metal", "ct_myelography", "CT myelography could not be assessed: metal artefact"),
        ("ri_low_counts", "ri_cisternography", "RI cisternography could not be assessed: counts too low"),
    ],
)
def test_an_exam_that_could_not_be_assessed_is_not_graded_in_json_and_text(
    scenario: str, exam: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_phantom(tmp_path / "in", scenario)
    code, out = _analyse(capsys, str(tmp_path / "in"))
    assert code == 0
    criteria = out[0]["criteria"]
    leak, per_exam = criteria["csf_leak"], criteria["per_exam"][exam]
    assert leak["grade"] == "NONE" and per_exam["grade"] == "NONE", "the contract's grade code stays"
    assert leak["graded"] is False and per_exam["graded"] is False
    assert leak["not_graded_reason"].startswith(why) and per_exam["not_graded_reason"].startswith(why)
    assert [e["exam"] for e in leak["exams_not_assessed"]] == [exam]
    other = "spinal_mri"
    assert criteria["per_exam"][other]["graded"] is True, "an exam the study does not hold is not 'not assessed'"
    ich = criteria["ich"]
    assert (ich["grade"], ich["graded"], ich["not_graded_reason"]) == ("NONE", False, "no brain MRI in the study")
    assert main(["analyse", str(tmp_path / "in")]) == 0
    text = capsys.readouterr().out
    assert "  Intracranial hypotension on imaging: not graded (no brain MRI in the study)" in text
    assert f"  CSF leak: not graded ({why}" in text
    assert "CSF leak: none" not in text and "No abnormal finding" not in text
    assert "Nothing could be assessed automatically: no output passed its quality check" in text
