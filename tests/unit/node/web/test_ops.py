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
