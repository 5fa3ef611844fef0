"""Entered findings on the study page: words, no field names, no UIDs."""

from __future__ import annotations

from node.web.entry_words import entry_rows, entry_text

UIDS = [f"1.2.826.0.1.3680043.8.498.{n}" for n in range(15)]


def test_a_confirmed_candidate_reads_as_words_without_its_uids() -> None:
    body = {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "enhancement": "not_assessed",
        "continuous_with_subarachnoid": None,
        "series_uid": UIDS[0],
        "sop_instance_uids": UIDS,
        "confidence": 0.6,
        "source": "radiologist",
    }
    text = entry_text("radiologist", body)
    assert text == (
        "spinal MRI: epidural fluid C7–T2 (enhancement: not assessed; continuous with subarachnoid: unknown; "
        "on 15 images)"
    )
    assert "1.2.826" not in text and "_" not in text


def test_clinical_and_review_entries() -> None:
    assert entry_text("clinical", {"orthostatic_headache": True, "opening_pressure_mmh2o": 55}) == (
        "orthostatic headache: yes; opening pressure: 55 mmH2O"
    )
    assert (
        entry_text(
            "review", {"key": "cord-compression", "decision": "rejected", "headline": "Cord compression 46 % at C5"}
        )
        == "Rejected: Cord compression 46 % at C5"
    )
    rows = entry_rows([{"id": 1, "source": "clinical", "body": {"orthostatic_headache": False}}])
    assert rows[0]["text"] == "orthostatic headache: no" and rows[0]["source_words"] == "clinical details"
