"""Feeds the node's metrics from the registry, the one place every process writes to.

Workers run in other processes than the web app that serves ``/metrics``, so what they did is read back at
scrape time: the stage seconds each report stored (``Result.summary["stage_seconds"]``) go into the stage
latency histogram, each failed delivery attempt into the delivery failures counter — each row once, by
increasing ID — and the studies are counted by state. Queue depth is set by :func:`node.web.ops.refresh_gauges`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from sqlalchemy import func, select

from node.metrics import NodeMetrics
from node.registry.db import Registry
from node.registry.models import Attempt, Delivery, DeliveryKind, Result, ResultKind, Study, StudyState


class MetricsFeed:
    """Reads new registry rows into ``metrics``; ``ris_kinds`` maps RIS endpoint names to their kind."""

    def __init__(self, metrics: NodeMetrics, registry: Registry, ris_kinds: Mapping[str, str] | None = None) -> None:
        self.metrics = metrics
        self.registry = registry
        self.ris_kinds = dict(ris_kinds or {})
        self._last_result = 0
        self._last_attempt = 0
        self._lock = threading.Lock()

    def _kind(self, delivery_kind: DeliveryKind, destination: str) -> str:
        if delivery_kind == DeliveryKind.RIS:
            return self.ris_kinds.get(destination, "ris")
        return "dicom"

    def refresh(self) -> None:
        with self._lock, self.registry.session() as session:
            results = session.execute(
                select(Result.id, Result.summary)
                .where(Result.kind == ResultKind.SR, Result.id > self._last_result)
                .order_by(Result.id)
            ).all()
            for result_id, summary in results:
                for stage, seconds in ((summary or {}).get("stage_seconds") or {}).items():
                    if isinstance(seconds, int | float) and seconds >= 0:
                        self.metrics.observe_stage(str(stage), float(seconds))
                self._last_result = result_id
            attempts = session.execute(
                select(Attempt.id, Delivery.destination, Delivery.kind, Attempt.ok, Attempt.finished_at)
                .join(Delivery, Attempt.delivery_id == Delivery.id)
                .where(Attempt.id > self._last_attempt)
                .order_by(Attempt.id)
            ).all()
            for attempt_id, destination, kind, ok, finished_at in attempts:
                if finished_at is None:  # still being sent: read it, and those after it, next time
                    break
                if not ok:
                    self.metrics.delivery_failed(destination, self._kind(kind, destination))
                self._last_attempt = attempt_id
            counts = dict(session.execute(select(Study.state, func.count(Study.id)).group_by(Study.state)).all())
            for state in StudyState:
                self.metrics.set_studies(state.value, int(counts.get(state, 0)))
