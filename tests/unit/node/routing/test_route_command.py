"""``spinenode route --dry-run`` on DICOM files written here (synthetic headers, no pixels needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from node import cli
from node.routing import dryrun

STUDY_A = generate_uid()
STUDY_B = generate_uid()
SERIES_A = generate_uid()
SERIES_B = generate_uid()


def write_instance(folder: Path, study_uid: str, series_uid: str, name: str, modality: str = "MR") -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.StudyDate = "20240305"
    ds.BodyPartExamined = "CSPINE"
    ds.PatientName = "Test^Person"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SliceThickness = "1.0"
    folder.mkdir(parents=True, exist_ok=True)
    ds.save_as(folder / name, enforce_file_format=True)


@pytest.fixture
def studies(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    write_instance(root / "a", STUDY_A, SERIES_A, "1.dcm")
    write_instance(root / "a", STUDY_A, SERIES_A, "2.dcm")
    write_instance(root / "b", STUDY_B, SERIES_B, "1.dcm", modality="CT")
    (root / "notes.txt").write_text("not DICOM", encoding="utf-8")
    return root


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rules]]
name = "mr-from-mri1"
when.calling_aet = "MRI1"
when.attributes = [{ keyword = "Modality", equals = "MR" }, { tag = "0018,0050", range = { max = 1.5 } }]
then = { pipelines = ["inventory", "criteria"], results_to = ["pacs"] }

[[rules]]
name = "ssfp"
when.series = [{ sequence = "SSFP" }]
then = { pipelines = ["cord"] }

[[rules]]
name = "leak"
when.results.grades = [{ grade = "csf_leak", at_least = "DEFINITE" }]
then = { priority = "stat" }
""",
        encoding="utf-8",
    )
    return path


def fake_inventory(path: Path) -> list[dict[str, Any]]:
    return [
        {"series_uid": SERIES_A, "modality": "MR", "sequence": "SSFP", "plane": "axial"},
        {"series_uid": SERIES_B, "modality": "CT", "sequence": None, "plane": "axial"},
    ]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_dry_run_per_study(
    studies: Path, rules: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dryrun, "inventory_of", fake_inventory)
    monkeypatch.delenv("SPINENODE_CONFIG", raising=False)
    code, report, _ = run_json(
        ["route", str(studies), "--dry-run", "--rules", str(rules), "--calling-aet", "MRI1", "--json"], capsys
    )
    assert code == 0
    by_uid = {entry["study_instance_uid"]: entry for entry in report}
    assert by_uid[STUDY_A]["instances"] == 2
    assert by_uid[STUDY_A]["series"] == 1  # inventory split by series UID
    assert by_uid[STUDY_A]["arrival"]["matched"] == ["mr-from-mri1", "ssfp"]
    assert by_uid[STUDY_A]["arrival"]["pipelines"] == ["inventory", "criteria", "cord"]
    assert by_uid[STUDY_A]["arrival"]["deferred"] == ["leak"]
    assert by_uid[STUDY_B]["arrival"]["matched"] == []
    assert "results" not in by_uid[STUDY_A]


def test_dry_run_with_results_document(
    studies: Path,
    rules: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dryrun, "inventory_of", fake_inventory)
    monkeypatch.delenv("SPINENODE_CONFIG", raising=False)
    findings = tmp_path / "result.json"
    findings.write_text(
        json.dumps({"ruleset": "t", "csf_leak": {"grade": "DEFINITE"}, "flags": ["x"]}), encoding="utf-8"
    )
    code, report, _ = run_json(
        [
            "route",
            str(studies / "a"),
            "--dry-run",
            "--rules",
            str(rules),
            "--findings",
            str(findings),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    assert report[0]["results"]["priority"] == "stat"
    assert "leak" in report[0]["results"]["matched"]


def test_text_output(
    studies: Path, rules: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dryrun, "inventory_of", lambda path: [])
    monkeypatch.delenv("SPINENODE_CONFIG", raising=False)
    code = cli.main(["route", str(studies / "a"), "--dry-run", "--rules", str(rules), "--calling-aet", "MRI1"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert f"study {STUDY_A} (2 instances, 0 series" in out
    assert "rule 'mr-from-mri1': matched" in out
    assert "rule 'ssfp': not matched" in out
    assert "Test^Person" not in out


def test_default_routing_from_config_destinations(
    studies: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dryrun, "inventory_of", fake_inventory)
    config = tmp_path / "node.toml"
    config.write_text(
        '[[destinations]]\nname = "pacs"\nae_title = "ORTHANC"\nhost = "127.0.0.1"\nport = 4242\n'
        '[[destinations]]\nname = "viewer"\nae_title = "VIEW"\nhost = "127.0.0.1"\nport = 4243\n'
        "results = false\n",
        encoding="utf-8",
    )
    code, report, _ = run_json(["route", str(studies / "b"), "--dry-run", "--config", str(config), "--json"], capsys)
    assert code == 0
    assert report[0]["arrival"]["default"] is True
    assert report[0]["arrival"]["results_to"] == ["pacs"]


def test_rules_naming_unknown_destinations_fail_with_config(
    studies: Path, rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nae_title = "SPINENODE"\n', encoding="utf-8")
    code = cli.main(["route", str(studies), "--dry-run", "--rules", str(rules), "--config", str(config)])
    assert code == 2
    assert "unknown destination 'pacs'" in capsys.readouterr().err


def test_errors(
    studies: Path,
    rules: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dryrun, "inventory_of", fake_inventory)
    monkeypatch.delenv("SPINENODE_CONFIG", raising=False)
    assert cli.main(["route", str(studies)]) == 2
    assert "only --dry-run is supported" in capsys.readouterr().err
    assert cli.main(["route", str(tmp_path / "nowhere"), "--dry-run"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["route", str(empty), "--dry-run"]) == 1
    assert "no DICOM instances" in capsys.readouterr().err
    assert cli.main(["route", str(studies), "--dry-run", "--rules", str(tmp_path / "none.toml")]) == 2
    assert "rules file not found" in capsys.readouterr().err
    weird = tmp_path / "weird.json"
    weird.write_text('{"something": 1}', encoding="utf-8")
    assert cli.main(["route", str(studies), "--dry-run", "--findings", str(weird)]) == 1
    assert "neither a findings document nor a criteria result" in capsys.readouterr().err
    bad_flags = tmp_path / "flags.json"
    bad_flags.write_text('{"csf_leak": {}, "flags": [1]}', encoding="utf-8")
    assert cli.main(["route", str(studies), "--dry-run", "--findings", str(bad_flags)]) == 1
    assert "'flags' must be a list of strings" in capsys.readouterr().err
    not_json = tmp_path / "x.json"
    not_json.write_text("{", encoding="utf-8")
    assert cli.main(["route", str(studies), "--dry-run", "--findings", str(not_json)]) == 1
    assert "invalid JSON" in capsys.readouterr().err
