"""``spinenode serve``: the SCP, the ingest recorder, stability, the reconciler, housekeeping, the web app
and (by default) an in-process Celery worker, composed around one :class:`~node.runtime.Runtime`.

One study's path: the SCP spools it and hands :class:`~node.dicom.received.Received` records to the
recorder; :class:`~node.daemon.early.EarlyWork` segments each series as soon as it is quiet, while the rest arrives;
:class:`~node.stability.StabilityWatch` turns a quiet study into a queued job and sends it; a
worker runs :func:`node.jobs.run.run_job`; its deliveries go out through :mod:`node.delivery`; the
reconciler re-sends whatever the registry says is unfinished."""

from __future__ import annotations

import logging
import threading
from typing import Any

from node.archive.housekeeping import Housekeeping
from node.broker.liveness import current_worker
from node.broker.reconciler import Reconciler
from node.broker.watch import broker_watch_for
from node.broker.workers import Heartbeat
from node.daemon.early import EarlyWork
from node.daemon.early import enabled as early_work_enabled
from node.dicom.guard import peer_limits
from node.dicom.received import Received
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool
from node.dicom.tls import server_context
from node.ingest.recorder import IngestRecorder, PatientKeyer, rescan_spool
from node.runtime import Runtime
from node.stability import StabilityWatch

log = logging.getLogger(__name__)


def _prepare_for_studies() -> None:
    """The analysis pool's fork server started and the steps' modules and tables loaded, off the start-up
    path (the first study need not wait for either)."""
    from workers.analysis.segmentations import start_fork_server
    from workers.pipeline.warm import warm_up

    try:
        start_fork_server()
    except (OSError, ValueError) as exc:  # no processes here: the pool falls back to one process
        log.warning("analysis fork server not started: %s", exc)
    warm_up()


def send_job(job_id: int) -> None:
    from workers.tasks import analyse_study

    analyse_study.apply_async((job_id,), retry=False)


def send_delivery(delivery_id: int) -> None:
    from node.delivery.tasks import deliver

    deliver.apply_async((delivery_id,), retry=False)


class InProcessWorker:
    """A Celery worker consuming both queues on a thread of this process."""

    def __init__(self, concurrency: int = 2) -> None:
        from celery.worker import WorkController

        from workers.celery_app import ANALYSIS_QUEUE, DELIVERY_QUEUE, app

        self._controller = WorkController(
            app=app,
            hostname=f"spinenode-embedded@{threading.get_native_id()}",
            pool_cls="threads",
            concurrency=concurrency,
            queues=[ANALYSIS_QUEUE, DELIVERY_QUEUE],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            prefetch_multiplier=1,
        )
        self._thread = threading.Thread(target=self._controller.start, name="celery-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        try:
            self._controller.stop(in_sighandler=False)
        except Exception:  # stopping a worker that never fully started
            log.debug("worker stop", exc_info=True)
        self._thread.join(timeout=10)


class Node:
    def __init__(self, runtime: Runtime, *, with_worker: bool = True, with_web: bool = True) -> None:
        self.runtime = runtime
        s = runtime.settings
        self.spool = Spool(s.spool_dir, min_free_bytes=s.node.min_free_bytes)
        self.keyer = PatientKeyer(s.data_dir)
        from node.metrics import NodeMetrics

        self.metrics = runtime.extras.setdefault("metrics", NodeMetrics())
        self.recorder = IngestRecorder(runtime.registry, self.keyer)
        from node.audit.trail import AuditWriter

        self.audit = AuditWriter(runtime.registry)
        self.scp = StorageSCP(
            ae_title=s.node.ae_title,
            host=s.node.host,
            port=s.node.port,
            spool=self.spool,
            on_received=self._received,
            allowed_calling_aets=s.node.allowed_calling_aets,
            max_pdu=s.node.max_pdu,
            limits=peer_limits(s.node),
            max_inflated_bytes=s.node.max_inflated_bytes,
            hold_seconds=s.node.stable_seconds + s.node.association_hold_seconds,
            audit=self.audit.put,
            ssl_context=server_context(
                s.node.tls_certificate, s.node.tls_private_key, s.node.tls_ca, s.node.tls_require_peer_certificate
            ),
        )
        self.reconciler = Reconciler(
            runtime.registry,
            send_job=send_job,
            send_delivery=send_delivery,
            broker_watch=broker_watch_for(s.broker.url),
        )
        self.stability = StabilityWatch(
            runtime.registry,
            stable_seconds=s.node.stable_seconds,
            tracker=self.scp.tracker,
            recorder=self.recorder,
            on_queued=self.reconciler.send_jobs,
        )
        self.housekeeping = Housekeeping(runtime.registry, retention_days=s.node.retention_days)
        self.early = None
        if with_worker and early_work_enabled():  # the jobs run here and read this data folder's cache
            from workers.pipeline.early import cache_folder

            self.early = EarlyWork(runtime.registry, cache_folder(s.data_dir))
        self.worker = InProcessWorker() if with_worker else None
        self.heartbeat = Heartbeat(runtime.registry, current_worker(), "analysis,delivery") if with_worker else None
        self.web: Any = None
        self.with_web = with_web
        self._stopped = threading.Event()

    def _received(self, item: Received) -> None:
        self.recorder.put(item)
        self.metrics.instance_received(item.calling_aet or "")

    def start(self) -> None:
        added = rescan_spool(self.runtime.registry, self.spool.iter_files(), self.keyer)
        if added:
            log.warning("recovered %d spooled instances unknown to the registry", added)
        self.recorder.start()
        self.audit.start()
        self.scp.start()
        self.stability.start()
        self.reconciler.start()
        self.housekeeping.start()
        if self.early:
            self.early.start()
        if self.worker:
            threading.Thread(target=_prepare_for_studies, name="prepare-for-studies", daemon=True).start()
            self.worker.start()
        if self.heartbeat:
            self.heartbeat.start()
        if self.with_web:
            from node.web.server import WebServer

            self.web = WebServer(self.runtime)
            self.web.start()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.scp.stop()
        self.audit.stop()
        self.recorder.stop()
        self.stability.stop()
        self.reconciler.stop()
        self.housekeeping.stop()
        if self.early:
            self.early.stop()
        if self.web:
            self.web.stop()
        if self.worker:
            self.worker.stop()
        if self.heartbeat:
            self.heartbeat.stop()
