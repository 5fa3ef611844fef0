"""``spinenode worker [--config FILE]``: run a Celery worker alone (analysis and delivery queues)."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from node.commands.common import add_config_option, log_studies_of_tasks, settings_or_exit, setup_logging


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run a Celery worker only")
    add_config_option(p)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--queues", default="analysis,delivery")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging()
    settings = settings_or_exit(args)
    if args.config:
        os.environ["SPINENODE_CONFIG"] = str(args.config)
    from node import runtime

    rt = runtime.install(runtime.Runtime.create(settings))
    log_studies_of_tasks(rt)
    from node.broker.liveness import current_worker
    from node.broker.workers import Heartbeat
    from workers.celery_app import app

    heartbeat = Heartbeat(rt.registry, current_worker(), args.queues).start()
    try:
        _celery_worker(app, args)
    finally:
        heartbeat.stop()
    return 0


def _celery_worker(app: Any, args: argparse.Namespace) -> None:
    app.worker_main(
        [
            "--quiet",  # no banner: standard error carries log lines only (JSON with --log-format json)
            "worker",
            f"--loglevel={logging.getLevelName(logging.getLogger().level)}",
            f"--concurrency={args.concurrency}",
            "--pool=threads",
            f"--queues={args.queues}",
            "--without-gossip",
            "--without-mingle",
            "--prefetch-multiplier=1",
        ]
    )
