"""Feeds the node's metrics from the registry, the one place every process writes to.

Workers run in other processes than the web app that serves ``/metrics``, so what they did is read back at
scrape time: the stage seconds each report stored (``Result.summary["stage_seconds"]``) go into the stage
latency histogram, and so do the seconds of each successful delivery attempt (stage ``delivery``); each
failed attempt goes into the delivery failures counter — each row once, by increasing ID. Each study
revision delivered goes once into the processing latency histogram: from stable (or, for a re-analysis, from
its job queued) to its last result delivered. The studies are counted by state. Queue depth is set by
:func:`node.web.ops.refresh_gauges`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.metrics import NodeMetrics
from node.registry.db import Registry
from node.registry.models import Attempt, Delivery, DeliveryKind, Job, Result, ResultKind, Study, StudyState


class MetricsFeed:
    """Reads new registry rows into ``metrics``; ``ris_kinds`` maps RIS endpoint names to their kind."""

    def __init__(self, metrics: NodeMetrics, registry: Registry, ris_kinds: Mapping[str, str] | None = None) -> None:
        self.metrics = metrics
        self.registry = registry
        self.ris_kinds = dict(ris_kinds or {})
        self._last_result = 0
        self._last_attempt = 0
        self._last_delivered: datetime | None = None
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
                select(
                    Attempt.id, Delivery.destination, Delivery.kind, Attempt.ok, Attempt.started_at, Attempt.finished_at
                )
                .join(Delivery, Attempt.delivery_id == Delivery.id)
                .where(Attempt.id > self._last_attempt)
                .order_by(Attempt.id)
            ).all()
            for attempt_id, destination, kind, ok, started_at, finished_at in attempts:
                if finished_at is None:  # still being sent: read it, and those after it, next time
                    break
                if not ok:
                    self.metrics.delivery_failed(destination, self._kind(kind, destination))
                elif started_at is not None and finished_at >= started_at:
                    self.metrics.observe_stage("delivery", (finished_at - started_at).total_seconds())
                self._last_attempt = attempt_id
            self._read_delivered(session)
            counts = dict(session.execute(select(Study.state, func.count(Study.id)).group_by(Study.state)).all())
            for state in StudyState:
                self.metrics.set_studies(state.value, int(counts.get(state, 0)))

    def _read_delivered(self, session: Session) -> None:
        """Processing latency of each study revision delivered since the last read."""
        query = (
            select(Study.delivered_at, Study.stable_at, Job.created_at)
            .join(Job, (Job.study_id == Study.id) & (Job.revision == Study.revision))
            .where(Study.delivered_at.is_not(None))
            .order_by(Study.delivered_at)
        )
        if self._last_delivered is not None:
            query = query.where(Study.delivered_at > self._last_delivered)
        for delivered_at, stable_at, queued_at in session.execute(query).all():
            starts = [t for t in (stable_at, queued_at) if t is not None]
            if delivered_at is None:
                continue
            if starts and delivered_at >= max(starts):
                self.metrics.observe_processing((delivered_at - max(starts)).total_seconds())
            self._last_delivered = delivered_at
