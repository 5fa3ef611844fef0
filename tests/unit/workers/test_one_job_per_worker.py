"""A worker holds only the jobs it runs: with ``acks_late`` and a prefetch multiplier of 1 a Celery worker
reserves no message beyond those in its pool (``--concurrency``), so a job waiting in the queue goes to the
next worker that is free instead of waiting behind a busy one (benchmarks/throughput.py measures the wait)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.commands import worker as worker_command
from workers import celery_app


class _App:
    def __init__(self) -> None:
        self.argv: list[str] = []

    def worker_main(self, argv: list[str]) -> None:
        self.argv = argv


def test_the_worker_command_prefetches_nothing_beyond_its_pool() -> None:
    app = _App()
    worker_command._celery_worker(app, argparse.Namespace(concurrency=1, queues="analysis,delivery"))
    assert "--prefetch-multiplier=1" in app.argv
    assert "--concurrency=1" in app.argv


def test_the_app_acknowledges_a_job_once_it_ran(tmp_path: Path) -> None:
    app: Any = celery_app.configure("", tmp_path)
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True  # a worker killed mid-job gives its message back
    from node.delivery.tasks import deliver
    from workers.tasks import analyse_study

    assert analyse_study.acks_late is True and deliver.acks_late is True
