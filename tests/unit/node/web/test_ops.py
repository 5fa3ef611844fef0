from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError
from web_support import Seeded

from node.registry.models import Job, JobState, Study, utcnow
from node.runtime import Runtime


def samples(text: str) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def test_health_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_health_503_when_the_database_is_unreachable(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(runtime.registry, "session", broken)
    response = client.get("/health")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"
    assert client.get("/metrics").status_code == 503


def test_metrics_computed_from_the_registry(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    with runtime.registry.session() as s:
        study = s.query(Study).filter_by(study_uid=seeded.stat_uid).one()
        s.add(Job(study_id=study.id, revision=1, state=JobState.QUEUED, created_at=utcnow() - timedelta(seconds=90)))
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    assert values["spinenode_queue_depth{queue=analysis}"] == 1
    assert values["spinenode_queue_depth{queue=delivery}"] == 0
    assert 89 <= values["spinenode_oldest_unfinished_job_age_seconds{}"] < 200
    assert values["spinenode_registry_instances{}"] == 6
    assert "DOE" not in response.text


def test_metrics_when_nothing_is_waiting(client: TestClient) -> None:
    values = samples(client.get("/metrics").text)
    assert values["spinenode_oldest_unfinished_job_age_seconds{}"] == 0
    assert values["spinenode_registry_instances{}"] == 0


def test_metrics_are_fed_by_what_workers_stored(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    """Stage latency from the reports' stage seconds, delivery failures from failed attempts, studies by
    state; each row is counted once however often /metrics is scraped."""
    from node.registry.models import Attempt, Delivery, Result

    with runtime.registry.session() as s:
        study = s.query(Study).filter_by(study_uid=seeded.reported_uid).one()
        s.add(
            Result(
                study_id=study.id,
                revision=3,
                kind="SR",
                sop_class_uid="1.2.840.10008.5.1.4.1.1.88.34",
                sop_instance_uid="1.2.826.0.1.3680043.8.498.999",
                series_uid="1.2.3",
                path="/nowhere",
                summary={"stage_seconds": {"inventory": 0.2, "analysis": 12.5, "results": 1.5}},
            )
        )
    first = samples(client.get("/metrics").text)
    assert first["spinenode_stage_latency_seconds_count{stage=analysis}"] == 1
    assert first["spinenode_stage_latency_seconds_sum{stage=analysis}"] == 12.5
    assert first["spinenode_stage_latency_seconds_bucket{le=0.25,stage=inventory}"] == 1
    assert first["spinenode_delivery_failures_total{destination=pacs,kind=dicom}"] == 1
    assert first["spinenode_studies{state=delivered}"] == 1
    assert first["spinenode_studies{state=failed}"] == 0
    with runtime.registry.session() as s:
        delivery = s.get(Delivery, seeded.delivery_dead_id)
        assert delivery is not None
        s.add(Attempt(delivery_id=delivery.id, ok=False, detail="refused again", finished_at=utcnow()))
    again = samples(client.get("/metrics").text)
    assert again["spinenode_stage_latency_seconds_count{stage=analysis}"] == 1, "a report is counted once"
    assert again["spinenode_delivery_failures_total{destination=pacs,kind=dicom}"] == 2
