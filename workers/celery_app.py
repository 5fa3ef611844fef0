"""The Celery application.

Broker: Redis when ``broker.url`` is set, otherwise kombu's filesystem transport under
``data_dir/broker`` (no server needed; works across processes on one host or a shared folder), with each
message written whole before a worker can take it (:mod:`workers.embedded_broker`).
Tasks take registry IDs, reload their state, are idempotent, ``acks_late`` with prefetch 1. The
registry, not the broker, is the source of truth: the reconciler re-sends what is unfinished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from workers import embedded_broker

ANALYSIS_QUEUE = "analysis"
DELIVERY_QUEUE = "delivery"
VISIBILITY_TIMEOUT = 35 * 60
"""Seconds Redis waits for an unacknowledged message before it hands it out again: longer than the longest
job may run (the registry's running lease, 30 min, ``node.broker.reconciler.RUNNING_LEASE``), so a slow job is
never handed to a second worker by the broker. A killed worker's message does not wait this long: the
reconciler re-sends its job as soon as the worker is seen gone and drops the stale entry
(``node.broker.watch``)."""

FILESYSTEM_POLLING_INTERVAL = 0.05
"""Seconds between two looks at the embedded broker's queue folder when it was empty: the most a task waits
there before a worker has it (one listing of a small folder per look; benchmarks/broker_hop.py measures the
hop)."""

TRANSPORT_ALIASES.setdefault(embedded_broker.ALIAS, "workers.embedded_broker:Transport")

app = Celery("spinenode", include=["workers.tasks", "node.delivery.tasks"])


REDIS_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    # A broker behind a cut link must fail a send or a read within seconds (then Celery reconnects), not
    # hang on a silent TCP connection until retransmission gives up.
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 15,
}


def broker_options(broker_url: str, data_dir: Path) -> dict[str, Any]:
    if broker_url:
        return {"broker_url": broker_url, "broker_transport_options": REDIS_TRANSPORT_OPTIONS}
    folder = data_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": f"{embedded_broker.ALIAS}://",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": FILESYSTEM_POLLING_INTERVAL,
        },
    }


def configure(broker_url: str, data_dir: Path) -> Celery:
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=ANALYSIS_QUEUE,
        task_routes={"node.delivery.tasks.*": {"queue": DELIVERY_QUEUE}},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        **broker_options(broker_url, data_dir),
    )
    return app
