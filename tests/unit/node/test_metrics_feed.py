"""The metrics feed on a real SQLite registry: a delivered study revision goes once into the processing
latency histogram (from stable, or from its job queued for a re-analysis, to its last result delivered), and
each successful delivery attempt into the stage histogram as ``delivery``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from metric_samples import samples

from node.metrics import NodeMetrics
from node.metrics.feed import MetricsFeed
from node.registry.db import Registry
from node.registry.models import Attempt, Delivery, DeliveryState, Job, JobState, Study, StudyState

T0 = datetime(2026, 12, 1, 9, 0, 0)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")


def _study(registry: Registry, uid: str, *, revision: int, stable: datetime, queued: datetime) -> int:
    with registry.session() as s:
        study = Study(
            study_uid=uid,
            patient_name="",
            patient_id="",
            patient_key="k" * 16,
            state=StudyState.REPORTED,
            revision=revision,
            stable_at=stable,
        )
        s.add(study)
        s.flush()
        s.add(Job(study_id=study.id, revision=revision, state=JobState.DONE, created_at=queued))
        return int(study.id)


def _deliver(registry: Registry, study_id: int, started: datetime, seconds: float) -> None:
    with registry.session() as s:
        study = s.get(Study, study_id)
        assert study is not None
        delivery = Delivery(
            study_id=study_id, revision=study.revision, destination="pacs", state=DeliveryState.DELIVERED
        )
        s.add(delivery)
        s.flush()
        done = started + timedelta(seconds=seconds)
        s.add(Attempt(delivery_id=delivery.id, ok=True, started_at=started, finished_at=done))
        study.state, study.delivered_at = StudyState.DELIVERED, done


def test_processing_latency_and_delivery_seconds_are_counted_once(registry: Registry) -> None:
    metrics = NodeMetrics()
    feed = MetricsFeed(metrics, registry)
    first = _study(registry, "1.2.3.1", revision=1, stable=T0, queued=T0)
    _deliver(registry, first, T0 + timedelta(seconds=6), 1.5)  # 7.5 s after stable
    feed.refresh()
    feed.refresh()  # a second scrape counts nothing twice
    got = samples(metrics)
    assert got[("spinenode_processing_latency_seconds_count", ())] == 1
    assert got[("spinenode_processing_latency_seconds_sum", ())] == pytest.approx(7.5)
    assert got[("spinenode_processing_latency_seconds_bucket", (("le", "5.0"),))] == 0
    assert got[("spinenode_processing_latency_seconds_bucket", (("le", "10.0"),))] == 1
    assert got[("spinenode_stage_latency_seconds_count", (("stage", "delivery"),))] == 1
    assert got[("spinenode_stage_latency_seconds_sum", (("stage", "delivery"),))] == pytest.approx(1.5)

    # A re-analysis (revision 2, queued an hour after the study was stable) counts from its job queued.
    later = T0 + timedelta(hours=1)
    second = _study(registry, "1.2.3.2", revision=2, stable=T0, queued=later)
    _deliver(registry, second, later + timedelta(seconds=2), 0.5)
    feed.refresh()
    got = samples(metrics)
    assert got[("spinenode_processing_latency_seconds_count", ())] == 2
    assert got[("spinenode_processing_latency_seconds_sum", ())] == pytest.approx(7.5 + 2.5)
    assert got[("spinenode_stage_latency_seconds_count", (("stage", "delivery"),))] == 2


def test_a_failed_attempt_is_a_failure_not_a_delivery_time(registry: Registry) -> None:
    metrics = NodeMetrics()
    study_id = _study(registry, "1.2.3.3", revision=1, stable=T0, queued=T0)
    with registry.session() as s:
        delivery = Delivery(study_id=study_id, revision=1, destination="pacs", state=DeliveryState.PENDING)
        s.add(delivery)
        s.flush()
        s.add(Attempt(delivery_id=delivery.id, ok=False, started_at=T0, finished_at=T0 + timedelta(seconds=3)))
    MetricsFeed(metrics, registry).refresh()
    got = samples(metrics)
    assert got[("spinenode_delivery_failures_total", (("destination", "pacs"), ("kind", "dicom")))] == 1
    assert ("spinenode_stage_latency_seconds_count", (("stage", "delivery"),)) not in got
    assert got[("spinenode_processing_latency_seconds_count", ())] == 0
