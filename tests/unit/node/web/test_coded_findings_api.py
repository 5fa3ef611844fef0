"""Coded findings of the latest report through the API: read, confirm, reject, and what the next job reads."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import BEARER, Seeded

from node.jobs.store import build_context
from node.registry.models import FindingEntry, Job, JobState, Study


def test_study_and_coded_findings_carry_the_findings_first(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    data = client.get(f"/api/studies/{uid}/coded-findings", headers=BEARER).json()
    (finding,) = data["findings"]
    assert finding["headline"] == "Cord compression 46 % at C5" and finding["severity"] == "severe"
    assert finding["code"] == {"value": "71173004", "scheme": "SCT", "meaning": "Compression"}
    assert data["not_assessable"][0]["text"].startswith("Vertebral marrow ADC: not assessable:")
    assert client.get(f"/api/studies/{uid}", headers=BEARER).json()["coded_findings"] == data


def test_reject_is_stored_and_read_by_the_next_job(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    response = client.post(f"/api/studies/{uid}/coded-findings/cord-compression/reject", headers=BEARER)
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    with seeded.runtime.registry.session() as s:
        study = s.scalar(select(Study).where(Study.study_uid == uid))
        assert study is not None and study.revision == 3
        entries = s.scalars(select(FindingEntry).where(FindingEntry.study_id == study.id)).all()
        assert [(e.source, e.body["decision"]) for e in entries] == [("review", "rejected")]
        assert s.get(Job, job_id).state == JobState.QUEUED  # type: ignore[union-attr]
    ctx = build_context(seeded.runtime.registry, seeded.runtime.settings, job_id)
    assert ctx.finding_reviews == {"cord-compression": "rejected"}
    assert ctx.findings_entries == [], "a review is not a findings-document entry"
    again = client.post(f"/api/studies/{uid}/coded-findings/cord-compression/confirm", headers=BEARER)
    assert again.status_code == 200
    ctx = build_context(seeded.runtime.registry, seeded.runtime.settings, again.json()["job_id"])
    assert ctx.finding_reviews == {"cord-compression": "confirmed"}, "the later decision replaces the earlier"


def test_unknown_finding_or_action(client: TestClient, seeded: Seeded) -> None:
    uid = seeded.reported_uid
    assert client.post(f"/api/studies/{uid}/coded-findings/nothing/confirm", headers=BEARER).status_code == 404
    assert client.post(f"/api/studies/{uid}/coded-findings/cord-compression/maybe", headers=BEARER).status_code == 404
    assert (
        client.post(
            f"/api/studies/{seeded.routine_uid}/coded-findings/cord-compression/confirm", headers=BEARER
        ).status_code
        == 404
    )


def test_confirming_a_coded_finding_that_is_a_criteria_candidate_enters_it_as_the_radiologists(
    client: TestClient, seeded: Seeded
) -> None:
    from node.findings import workflow as fs
    from node.registry.models import Result
    from workers.results.codes import EPIDURAL_FLUID
    from workers.results.findings import FindingKind, FindingsReport, ReportedFinding, Severity

    uid = seeded.reported_uid
    with seeded.runtime.registry.session() as s:
        study = s.scalar(select(Study).where(Study.study_uid == uid))
        assert study is not None
        candidate = fs.candidates(s, study)[0]
        fluid = ReportedFinding(
            key="epidural-fluid-C7-T2",
            kind=FindingKind.EPIDURAL_FLUID,
            headline="Epidural fluid C7–T2",
            severity=Severity.MODERATE,
            concept=EPIDURAL_FLUID,
            levels=("C7", "T2"),
            candidate_key=candidate["key"],
        )
        latest = s.scalars(
            select(Result).where(Result.study_id == study.id, Result.kind == "SR").order_by(Result.revision.desc())
        ).first()
        assert latest is not None
        latest.summary = {**latest.summary, "findings": FindingsReport(findings=(fluid,)).as_json()}
    response = client.post(f"/api/studies/{uid}/coded-findings/epidural-fluid-C7-T2/confirm", headers=BEARER)
    assert response.status_code == 200, response.text
    with seeded.runtime.registry.session() as s:
        study = s.scalar(select(Study).where(Study.study_uid == uid))
        entries = s.scalars(select(FindingEntry).where(FindingEntry.study_id == study.id)).all()  # type: ignore[union-attr]
        assert [(e.source, e.body["kind"]) for e in entries] == [("radiologist", "epidural_fluid")]
