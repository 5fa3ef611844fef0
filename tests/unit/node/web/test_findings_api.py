from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import BEARER, Seeded

from node.jobs.store import settled_candidate_keys
from node.registry.models import FindingEntry, Instance, Job, JobState, Study
from workers.analysis.base import CandidateFinding
from workers.pipeline.candidates import candidate_key, candidates_json, without_settled

EFC = {
    "exam": "spinal_mri",
    "kind": "epidural_fluid",
    "levels": ["C7", "T2"],
    "enhancement": "absent",
    "continuous_with_subarachnoid": True,
}


def _study(seeded: Seeded, uid: str) -> tuple[int, int]:
    with seeded.runtime.registry.session() as s:
        study = s.scalar(select(Study).where(Study.study_uid == uid))
        assert study is not None
        jobs = s.scalars(select(Job).where(Job.study_id == study.id, Job.state == JobState.QUEUED)).all()
        return study.revision, len(jobs)


def post(client: TestClient, uid: str, doc: Any) -> Any:
    return client.post(f"/api/studies/{uid}/findings", json=doc, headers=BEARER)


def test_post_stores_each_finding_and_clinical_and_queues_a_revision(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    doc = {"clinical": {"orthostatic_headache": True}, "findings": [EFC, {**EFC, "source": "imported"}]}
    response = post(client, uid, doc)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["revision"] == 3 and body["job_id"]
    assert _study(seeded, uid) == (3, 1)
    listed = client.get(f"/api/studies/{uid}/findings", headers=BEARER).json()
    assert [(e["source"], e["status"]) for e in listed] == [
        ("radiologist", "active"),
        ("imported", "active"),
        ("clinical", "active"),
    ]
    assert listed[0]["body"] == EFC and listed[0]["author"] == "api"
    assert set(listed[0]) >= {"id", "status", "source", "body", "created_at", "author"}


def test_new_clinical_object_replaces_the_previous_one(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    assert post(client, uid, {"clinical": {"orthostatic_headache": True}}).status_code == 201
    assert post(client, uid, {"clinical": {"opening_pressure_mmh2o": 50}}).status_code == 201
    assert post(client, uid, {"findings": [EFC]}).status_code == 201  # no clinical key: clinical kept
    clinical = [
        e for e in client.get(f"/api/studies/{uid}/findings", headers=BEARER).json() if e["source"] == "clinical"
    ]
    assert [(e["status"], e["body"]) for e in clinical] == [
        ("withdrawn", {"orthostatic_headache": True}),
        ("active", {"opening_pressure_mmh2o": 50}),
    ]
    assert _study(seeded, uid)[0] == 5


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"findings": [{**EFC, "levels": ["C7", "T13"]}]}, "findings[0].levels[1]"),
        ({"findings": [{**EFC, "kind": "tonsillar_descent"}]}, "findings[0].kind"),
        ({"findings": [{**EFC, "colour": "red"}]}, "findings[0].colour: unknown field"),
        ({"findings": [{**EFC, "source": "ai"}]}, "findings[0].source"),
        ({"clinical": {"opening_pressure_mmh2o": 5000}}, "clinical.opening_pressure_mmh2o"),
        ([EFC], "document: must be a JSON object"),
        ({}, "nothing to store"),
    ],
)
def test_invalid_document_is_422_naming_the_field(client: TestClient, seeded: Seeded, doc: Any, needle: str) -> None:
    response = post(client, seeded.reported_uid, doc)
    assert response.status_code == 422
    assert needle in response.json()["detail"]
    assert _study(seeded, seeded.reported_uid) == (2, 0)  # nothing stored, nothing queued


def test_body_that_is_not_json_is_422(client: TestClient, seeded: Seeded) -> None:
    response = client.post(f"/api/studies/{seeded.reported_uid}/findings", content=b"{nope", headers=BEARER)
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]


def test_duplicate_id_with_an_active_entry_is_422(client: TestClient, seeded: Seeded) -> None:
    assert post(client, seeded.reported_uid, {"findings": [{**EFC, "id": "f1"}]}).status_code == 201
    response = post(client, seeded.reported_uid, {"findings": [{**EFC, "id": "f1"}]})
    assert response.status_code == 422 and "duplicate id 'f1'" in response.json()["detail"]


def test_unknown_study_is_404(client: TestClient, seeded: Seeded) -> None:
    assert post(client, "1.2.999", {"findings": [EFC]}).status_code == 404
    assert client.get("/api/studies/1.2.999/findings", headers=BEARER).status_code == 404


def test_study_still_receiving_stores_without_a_new_revision(client: TestClient, seeded: Seeded) -> None:
    response = post(client, seeded.routine_uid, {"findings": [EFC]})
    assert response.status_code == 201 and response.json()["job_id"] is None
    assert _study(seeded, seeded.routine_uid) == (1, 0)


def test_study_without_originals_cannot_be_reanalysed(client: TestClient, seeded: Seeded) -> None:
    with seeded.runtime.registry.session() as s:
        for instance in s.scalars(select(Instance)):
            s.delete(instance)
    response = post(client, seeded.reported_uid, {"findings": [EFC]})
    assert response.status_code == 409 and "originals" in response.json()["detail"]


def test_withdraw_marks_the_entry_and_queues_a_revision(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    entry_id = post(client, uid, {"findings": [EFC]}).json()["entries"][0]["id"]
    response = client.delete(f"/api/studies/{uid}/findings/{entry_id}", headers=BEARER)
    assert response.status_code == 200
    assert response.json()["entry"]["status"] == "withdrawn" and response.json()["entry"]["withdrawn_at"]
    assert _study(seeded, uid)[0] == 4
    again = client.delete(f"/api/studies/{uid}/findings/{entry_id}", headers=BEARER)
    assert again.status_code == 409
    assert client.delete(f"/api/studies/{uid}/findings/99999", headers=BEARER).status_code == 404
    other = client.delete(f"/api/studies/{seeded.stat_uid}/findings/{entry_id}", headers=BEARER)
    assert other.status_code == 404  # an entry of another study


def test_candidates_are_the_automated_findings_of_the_latest_sr(client: TestClient, seeded: Seeded) -> None:
    cands = client.get(f"/api/studies/{seeded.reported_uid}/candidates", headers=BEARER).json()
    assert [(c["index"], c["finding"]["kind"], c["grade"]) for c in cands] == [
        (0, "epidural_fluid", "DEFINITE"),
        (1, "diffuse_dural_enhancement", "NONE"),
    ]
    assert cands[0]["finding"] == {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "source": "automated",
        "id": "auto-efc",
    }
    assert client.get(f"/api/studies/{seeded.stat_uid}/candidates", headers=BEARER).json() == []


def test_confirm_stores_a_radiologist_finding_and_settles_the_candidate(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    response = client.post(f"/api/studies/{uid}/candidates/0/confirm", headers=BEARER)
    assert response.status_code == 200, response.text
    entry = response.json()["entry"]
    assert entry["source"] == "radiologist" and entry["status"] == "active"
    assert entry["body"] == {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "source": "radiologist",
    }
    assert _study(seeded, uid) == (3, 1)
    left = client.get(f"/api/studies/{uid}/candidates", headers=BEARER).json()
    assert [c["index"] for c in left] == [1]
    assert client.post(f"/api/studies/{uid}/candidates/0/confirm", headers=BEARER).status_code == 404


def test_reject_stores_a_rejected_entry_that_is_not_proposed_again(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    response = client.post(f"/api/studies/{uid}/candidates/1/reject", headers=BEARER)
    assert response.status_code == 200
    assert response.json()["entry"]["status"] == "rejected" and response.json()["entry"]["source"] == "automated"
    assert [c["index"] for c in client.get(f"/api/studies/{uid}/candidates", headers=BEARER).json()] == [0]
    with seeded.runtime.registry.session() as s:
        study = s.scalar(select(Study).where(Study.study_uid == uid))
        assert study is not None
        keys = settled_candidate_keys(s, study.id)
        active = s.scalars(select(FindingEntry).where(FindingEntry.status == "active")).all()
    assert keys == {"brain_mri/diffuse_dural_enhancement//"}
    assert active == []  # build_context reads active entries only: the rejected one is not a finding


def test_unknown_candidate_or_action_is_404(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    assert client.post(f"/api/studies/{uid}/candidates/7/confirm", headers=BEARER).status_code == 404
    assert client.post(f"/api/studies/{uid}/candidates/0/maybe", headers=BEARER).status_code == 404


def test_without_settled_drops_rejected_and_confirmed_candidates() -> None:
    candidates = [
        CandidateFinding("C7 to T2", 0.6, {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7/Th1", "T2"]}),
        CandidateFinding("L1 to L2", 0.6, {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["L1", "L2"]}),
        CandidateFinding("no contract kind", 0.5, None),  # never proposed: nothing to settle
    ]
    key = candidate_key({"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"], "grade": "X"})
    assert key == "spinal_mri/epidural_fluid/C7-T2/"
    assert without_settled(candidates, {key}) == [candidates[1]]
    assert without_settled(candidates, set()) == candidates[:2]
    (lumbar,) = candidates_json(candidates[1:])
    assert lumbar == {**(candidates[1].finding or {}), "source": "automated", "confidence": 0.6}
    broken = candidate_key({"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["Q9"]})
    assert broken == "spinal_mri/epidural_fluid/Q9/"


def test_retry_puts_a_dead_delivery_back_to_pending(client: TestClient, seeded: Seeded) -> None:
    response = client.post(f"/api/deliveries/{seeded.delivery_dead_id}/retry", headers=BEARER)
    assert response.status_code == 200 and response.json()["state"] == "pending"
    rows = client.get(f"/api/studies/{seeded.stat_uid}", headers=BEARER).json()["deliveries"]
    assert rows[0]["state"] == "pending"
    assert client.post(f"/api/deliveries/{seeded.delivery_ok_id}/retry", headers=BEARER).status_code == 409
    assert client.post("/api/deliveries/9999/retry", headers=BEARER).status_code == 404
