"""``spinenode serve``: the SCP, the ingest recorder, the reconciler, the web app and (by default) an
in-process Celery worker, composed around one :class:`~node.runtime.Runtime`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from node.broker_watch import broker_watch_for
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool
from node.ingest import IngestRecorder, PatientKeyer, Received, rescan_spool
from node.jobs import WORKER_ID
from node.reconciler import Reconciler
from node.runtime import Runtime
from node.workers_seen import Heartbeat

log = logging.getLogger(__name__)


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
        self.scp = StorageSCP(
            ae_title=s.node.ae_title,
            host=s.node.host,
            port=s.node.port,
            spool=self.spool,
            on_received=self._received,
            allowed_calling_aets=s.node.allowed_calling_aets,
            max_pdu=s.node.max_pdu,
        )
        self.reconciler = Reconciler(
            runtime.registry,
            stable_seconds=s.node.stable_seconds,
            busy_studies=self.scp.tracker.busy_studies,
            recorder_idle=lambda: self.recorder.pending == 0,
            send_job=send_job,
            send_delivery=send_delivery,
            retention_days=s.node.retention_days,
            broker_watch=broker_watch_for(s.broker.url),
        )
        self.worker = InProcessWorker() if with_worker else None
        self.heartbeat = Heartbeat(runtime.registry, WORKER_ID, "analysis,delivery") if with_worker else None
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
        self.scp.start()
        self.reconciler.start()
        if self.worker:
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
        self.recorder.stop()
        self.reconciler.stop()
        if self.web:
            self.web.stop()
        if self.worker:
            self.worker.stop()
        if self.heartbeat:
            self.heartbeat.stop()
