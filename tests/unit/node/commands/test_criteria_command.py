"""``spinenode criteria FILE [--json]`` run through ``node.cli.main``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from node.cli import main

EXAMPLE: dict[str, Any] = {
    "clinical": {"orthostatic_headache": True, "opening_pressure_mmh2o": 55},
    "findings": [
        {
            "exam": "spinal_mri",
            "kind": "epidural_fluid",
            "levels": ["C7", "T2"],
            "enhancement": "absent",
            "continuous_with_subarachnoid": True,
            "source": "radiologist",
        },
        {
            "exam": "ri_cisternography",
            "kind": "epidural_accumulation",
            "pattern": "unilateral_localized",
            "levels": ["T1", "T3"],
        },
        {"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": True},
        {
            "exam": "ct_myelography",
            "kind": "epidural_contrast",
            "levels": ["T1", "T2"],
            "continuous_with_puncture_site": False,
            "continuous_with_subarachnoid": False,
            "dural_defect": False,
        },
        {"exam": "brain_mri", "kind": "diffuse_dural_enhancement"},
    ],
}


def _write(tmp_path: Path, obj: Any) -> str:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj, encoding="utf-8")
    return str(path)


def test_json_output_has_the_contract_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", _write(tmp_path, EXAMPLE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"ruleset", "csf_leak", "per_exam", "ich", "ich_dx", "ebp"} <= set(out)
    assert out["csf_leak"]["grade"] == "DEFINITE" and out["csf_leak"]["rules"] == ["CSF-LEAK-DX-2"]
    assert set(out["csf_leak"]) >= {"grade", "rules", "supporting", "needs_confirmation"}
    assert out["per_exam"]["spinal_mri"] == {
        **out["per_exam"]["spinal_mri"],
        "grade": "DEFINITE",
        "rules": ["CSF-LEAK-MR-4"],
    }
    assert out["per_exam"]["ri_cisternography"]["grade"] == "DEFINITE"
    assert (out["ich"]["grade"], out["ich"]["rules"]) == ("STRONGLY_SUSPECTED", ["ICH-1"])
    assert out["ich_dx"] == {**out["ich_dx"], "grade": "CONFIRMED", "rules": ["ICH-DX-1"], "missing": []}
    assert out["ebp"] == {**out["ebp"], "eligible": True, "rules": ["EBP-1"], "missing": []}
    assert out["ruleset"]


def test_table_output_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", _write(tmp_path, EXAMPLE)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("CSF leak") and "DEFINITE" in line and "CSF-LEAK-DX-2" in line for line in lines)
    assert any(line.startswith("EBP") and "eligible" in line for line in lines)
    assert "#4 brain_mri/diffuse_dural_enhancement" in out


def test_stdin_dash(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"findings": []})))
    assert main(["criteria", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["csf_leak"]["grade"] == "NONE"


def test_claim_items_from_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, EXAMPLE)
    assert main(["criteria", path, "--json", "--study-date", "20240102", "--institution-name", "Example"]) == 0
    claim = json.loads(capsys.readouterr().out)["ebp"]["claim"]
    assert {(c["study_date"], c["institution_name"]) for c in claim} == {("20240102", "Example")}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"findings": [{"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["T13"]}]},
            "findings[0].levels[0]: unknown level 'T13'",
        ),
        ({"findings": [{"exam": "spinal_mri", "kind": "chiari"}]}, "findings[0].kind"),
        ({"clinical": {"orthostatic_headache": "yes"}}, "clinical.orthostatic_headache"),
        ("{not json", "not JSON"),
    ],
)
def test_invalid_document_exit_2_with_message_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    assert main(["criteria", _write(tmp_path, content), "--json"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bad_study_date_option_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", _write(tmp_path, EXAMPLE), "--study-date", "2024-01-02"]) == 2
    assert "StudyContext.study_date" in capsys.readouterr().err


JAPANESE = {
    "clinical": {"orthostatic_headache": True},
    "findings": [
        {
            "exam": "spinal_mri",
            "kind": "epidural_fluid",
            "levels": ["C7", "T2"],
            "enhancement": "absent",
            "continuous_with_subarachnoid": True,
            "institution_name": "脳脊髄液漏出症センター",
        }
    ],
}


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("utf-8", None),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("utf-16", "UTF-16"),
        ("utf-16-le", "UTF-16LE"),
        ("shift_jis", "Shift_JIS (CP932)"),
        ("cp932", "Shift_JIS (CP932)"),
    ],
)
def test_encodings_hospitals_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str, named: str | None
) -> None:
    path = tmp_path / "findings.json"
    path.write_bytes(json.dumps(JAPANESE, ensure_ascii=False).encode(encoding))
    assert main(["criteria", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["csf_leak"]["grade"] == "DEFINITE"
    assert "脳脊髄液漏出症センター" in captured.out  # decoded right, not mojibake
    if named is None:
        assert captured.err == ""
    else:
        assert captured.err.strip() == f"spinenode criteria: read {path} as {named}"


def test_undecodable_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "findings.json"
    path.write_bytes(b'{"findings": [], "x": "\x82\xff\xfe"}')
    assert main(["criteria", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8, UTF-16 or Shift_JIS/CP932" in err and "offset" in err
