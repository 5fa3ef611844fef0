from __future__ import annotations

import pytest
from metric_samples import samples

from node.metrics import CONTENT_TYPE, NodeMetrics


def test_counters_gauges_and_histogram_render() -> None:
    metrics = NodeMetrics()
    metrics.instance_received("MRI1")
    metrics.instance_received("MRI1", count=2)
    metrics.set_queue_depth("analysis", 4)
    metrics.set_queue_depth("analysis", 3)
    metrics.set_oldest_unfinished_job_age(12.5)
    metrics.observe_stage("inventory", 0.2)
    metrics.observe_stage("inventory", 7.0)
    metrics.delivery_failed("pacs")
    metrics.delivery_failed("ris", kind="hl7_mllp")
    got = samples(metrics)
    assert got[("spinenode_instances_received_total", (("calling_aet", "MRI1"),))] == 3
    assert got[("spinenode_queue_depth", (("queue", "analysis"),))] == 3
    assert got[("spinenode_oldest_unfinished_job_age_seconds", ())] == 12.5
    assert got[("spinenode_stage_latency_seconds_count", (("stage", "inventory"),))] == 2
    assert got[("spinenode_stage_latency_seconds_sum", (("stage", "inventory"),))] == pytest.approx(7.2)
    assert got[("spinenode_stage_latency_seconds_bucket", (("le", "0.25"), ("stage", "inventory")))] == 1
    assert got[("spinenode_delivery_failures_total", (("destination", "pacs"), ("kind", "dicom")))] == 1
    assert got[("spinenode_delivery_failures_total", (("destination", "ris"), ("kind", "hl7_mllp")))] == 1
    assert CONTENT_TYPE.startswith("text/plain")


def test_time_stage_observes_even_on_error() -> None:
    metrics = NodeMetrics()
    with pytest.raises(RuntimeError):
        with metrics.time_stage("criteria"):
            raise RuntimeError("boom")
    with metrics.time_stage("criteria"):
        pass
    assert samples(metrics)[("spinenode_stage_latency_seconds_count", (("stage", "criteria"),))] == 2


def test_registries_are_independent() -> None:
    first, second = NodeMetrics(), NodeMetrics()
    first.instance_received("A")
    assert ("spinenode_instances_received_total", (("calling_aet", "A"),)) not in samples(second)
    assert first.registry is not second.registry


def test_namespace() -> None:
    metrics = NodeMetrics(namespace="edge")
    metrics.set_oldest_unfinished_job_age(1)
    assert ("edge_oldest_unfinished_job_age_seconds", ()) in samples(metrics)
    with pytest.raises(ValueError, match="namespace: 'bad-name'"):
        NodeMetrics(namespace="bad-name")


def test_validation() -> None:
    metrics = NodeMetrics()
    with pytest.raises(ValueError, match="count: 0 must be at least 1"):
        metrics.instance_received("A", count=0)
    with pytest.raises(ValueError, match="depth: -1 must not be negative"):
        metrics.set_queue_depth("q", -1)
    with pytest.raises(ValueError, match="seconds: -2 must not be negative"):
        metrics.set_oldest_unfinished_job_age(-2)
    with pytest.raises(ValueError, match="seconds: -0.5 must not be negative .stage 'x'"):
        metrics.observe_stage("x", -0.5)
