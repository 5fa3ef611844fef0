"""Prometheus metrics of the node, in a registry of their own (:class:`NodeMetrics`).

Served as text by a ``/metrics`` endpoint: ``body = metrics.render()`` with ``CONTENT_TYPE``. Labels carry
AE titles, queue, stage and destination names only, never patient data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
STAGE_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
"""Seconds; from a quick header read to a long analysis."""
LATENCY_BUCKETS: tuple[float, ...] = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600)
"""Seconds from a stable study to its last result delivered; the targets are 3 s and 10 s."""


class NodeMetrics:
    """The node's collectors, registered in ``registry`` (a new one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "spinenode") -> None:
        if not namespace.isidentifier():
            raise ValueError(f"namespace: {namespace!r} is not a valid metric name prefix")
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.instances_received = Counter(
            "instances_received",
            "DICOM instances stored by the SCP",
            ["calling_aet"],
            namespace=namespace,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "queue_depth", "Jobs waiting in a queue", ["queue"], namespace=namespace, registry=self.registry
        )
        self.oldest_unfinished_job_age = Gauge(
            "oldest_unfinished_job_age_seconds",
            "Age of the oldest job not yet finished",
            namespace=namespace,
            registry=self.registry,
        )
        self.stage_latency = Histogram(
            "stage_latency_seconds",
            "Time spent in one pipeline stage",
            ["stage"],
            buckets=STAGE_BUCKETS,
            namespace=namespace,
            registry=self.registry,
        )
        self.processing_latency = Histogram(
            "processing_latency_seconds",
            "From a study revision stable to its last result delivered",
            buckets=LATENCY_BUCKETS,
            namespace=namespace,
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "delivery_failures",
            "Failed delivery attempts",
            ["destination", "kind"],
            namespace=namespace,
            registry=self.registry,
        )

        self.studies = Gauge(
            "studies", "Studies in the registry by state", ["state"], namespace=namespace, registry=self.registry
        )

    def set_studies(self, state: str, count: int) -> None:
        if count < 0:
            raise ValueError(f"count: {count} must not be negative (state {state!r})")
        self.studies.labels(state=state).set(count)

    def instance_received(self, calling_aet: str = "", count: int = 1) -> None:
        if count < 1:
            raise ValueError(f"count: {count} must be at least 1")
        self.instances_received.labels(calling_aet=calling_aet).inc(count)

    def set_queue_depth(self, queue: str, depth: int) -> None:
        if depth < 0:
            raise ValueError(f"depth: {depth} must not be negative (queue {queue!r})")
        self.queue_depth.labels(queue=queue).set(depth)

    def set_oldest_unfinished_job_age(self, seconds: float) -> None:
        """Age in seconds of the oldest unfinished job; 0 when there is none."""
        if seconds < 0:
            raise ValueError(f"seconds: {seconds} must not be negative")
        self.oldest_unfinished_job_age.set(seconds)

    def observe_stage(self, stage: str, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds: {seconds} must not be negative (stage {stage!r})")
        self.stage_latency.labels(stage=stage).observe(seconds)

    def observe_processing(self, seconds: float) -> None:
        """One study revision: seconds from stable to its last result delivered."""
        if seconds < 0:
            raise ValueError(f"seconds: {seconds} must not be negative")
        self.processing_latency.observe(seconds)

    @contextmanager
    def time_stage(self, stage: str) -> Iterator[None]:
        """Observe the duration of the ``with`` block for ``stage`` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe_stage(stage, time.perf_counter() - start)

    def delivery_failed(self, destination: str, kind: str = "dicom") -> None:
        """Count one failed delivery attempt (``kind``: ``dicom``, ``hl7_mllp``, ``fhir``, ``webhook``)."""
        self.delivery_failures.labels(destination=destination, kind=kind).inc()

    def render(self) -> bytes:
        """The text exposition format of this registry, for ``GET /metrics``."""
        return generate_latest(self.registry)
