"""Operations endpoints without authentication: ``/health`` (database reachable) and ``/metrics``.

The metrics are the node's :class:`~node.metrics.NodeMetrics`; at scrape time the gauges that the
registry knows best are computed from it: queue depth (queued jobs, pending deliveries), the age of the
oldest unfinished job, and the number of instances the registry holds; :class:`node.metrics.feed.MetricsFeed`
adds what workers did (stage latency, delivery failures) and the studies by state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from node.metrics import CONTENT_TYPE, NodeMetrics
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Instance, Job, JobState, utcnow
from node.web.deps import runtime_of

log = logging.getLogger(__name__)
router = APIRouter()


class RegistryInstances(Collector):
    """``spinenode_registry_instances``: DICOM instances the registry holds (read at scrape time)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.registry.session() as session:
            count = session.scalar(select(func.count(Instance.id))) or 0
        family = GaugeMetricFamily("spinenode_registry_instances", "DICOM instances recorded in the registry")
        family.add_metric([], count)
        yield family

    def describe(self) -> list[GaugeMetricFamily]:
        return []


def refresh_gauges(metrics: NodeMetrics, registry: Registry, now: datetime | None = None) -> None:
    """Set queue depth and oldest unfinished job age from the registry."""
    now = now or utcnow()
    with registry.session() as session:
        queued = session.scalar(select(func.count(Job.id)).where(Job.state == JobState.QUEUED)) or 0
        pending = session.scalar(select(func.count(Delivery.id)).where(Delivery.state == DeliveryState.PENDING)) or 0
        oldest = session.scalar(
            select(func.min(Job.created_at)).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
        )
    metrics.set_queue_depth("analysis", int(queued))
    metrics.set_queue_depth("delivery", int(pending))
    metrics.set_oldest_unfinished_job_age(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


@router.get("/health")
def health(request: Request) -> JSONResponse:
    try:
        with runtime_of(request).registry.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health: registry unreachable (%s)", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    node_metrics: NodeMetrics = request.app.state.metrics
    try:
        refresh_gauges(node_metrics, runtime_of(request).registry)
        request.app.state.metrics_feed.refresh()
        body = node_metrics.render()
    except SQLAlchemyError as exc:
        log.error("metrics: registry unreachable (%s)", type(exc).__name__)
        return Response("registry unreachable\n", status_code=503, media_type="text/plain")
    return Response(body, media_type=CONTENT_TYPE)
