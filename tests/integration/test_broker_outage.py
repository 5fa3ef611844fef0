"""A broker outage only delays work: with Redis down the node keeps receiving, the registry holds the
unsent job, and once Redis is back the reconciler sends it and the results reach the PACS.

A Redis that keeps nothing on disk forgets the messages it held when it restarts: the node notices and sends
that work again within seconds (not after a fixed five-minute wait), and no job runs twice."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_client
from peers import NodeProcess, Orthanc, free_port, storescu, wait_for_port, wait_until

from workers.phantom import write_phantom

pytestmark = pytest.mark.integration


def _redis(port: int, root: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc


def test_redis_down_then_up(tmp_path: Path, orthanc: Orthanc) -> None:
    port = free_port()
    redis = _redis(port, tmp_path)
    study = write_phantom(tmp_path / "study", "simple")
    node = NodeProcess(
        tmp_path / "node",
        destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": orthanc.dicom_port}],
        extra={"broker": {"url": f"redis://127.0.0.1:{port}/0"}},
    ).start()
    try:
        redis.terminate()
        redis.wait(timeout=10)
        assert storescu(list(study.files), node.port).returncode == 0, "receiving does not need the broker"
        wait_until(lambda: node.studies() and node.studies()[0]["state"] == "queued", 60, "queued, unsent")
        wait_until(lambda: "broker unavailable" in node.log_text(), 30, "the outage logged")
        assert not orthanc.instances_by_modality().get("SR")
        redis = _redis(port, tmp_path)
        wait_until(lambda: node.studies()[0]["state"] == "delivered", 180, "delivered after the broker is back")
        assert orthanc.instances_by_modality().get("SR")
    finally:
        node.stop()
        redis.terminate()
        redis.wait(timeout=10)


def _worker(node: NodeProcess, queues: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "node", "worker", "--config", str(node.config_path), "--queues", queues],
        stdout=open(log, "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )


def _restart(redis: subprocess.Popen[bytes], port: int, root: Path) -> subprocess.Popen[bytes]:
    redis.terminate()
    redis.wait(timeout=10)
    return _redis(port, root)


def test_redis_restart_without_persistence_recovers_in_seconds(tmp_path: Path, orthanc: Orthanc) -> None:
    """The job's message, then the delivery's, sit in Redis with no worker to take them; Redis restarts
    (keeping nothing) each time. Both are sent again within seconds of Redis being back."""
    port = free_port()
    redis = _redis(port, tmp_path)
    client = redis_client.Redis(port=port)
    study = write_phantom(tmp_path / "study", "simple")
    node = NodeProcess(
        tmp_path / "node",
        destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": orthanc.dicom_port}],
        extra={"broker": {"url": f"redis://127.0.0.1:{port}/0"}},
    ).start("--no-worker")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        assert storescu(list(study.files), node.port).returncode == 0
        wait_until(lambda: client.llen("analysis") == 1, 60, "the job's message waiting in Redis")
        redis = _restart(redis, port, tmp_path)
        client = redis_client.Redis(port=port)
        back = time.monotonic()
        assert client.llen("analysis") == 0, "the restarted Redis has lost the message"
        workers.append(_worker(node, "analysis", tmp_path / "worker-analysis.log"))
        wait_until(lambda: client.llen("analysis") + client.hlen("unacked") >= 1, 60, "job re-sent", interval=0.05)
        job_resent = time.monotonic() - back
        wait_until(lambda: client.llen("delivery") >= 1, 120, "the delivery's message waiting in Redis")
        redis = _restart(redis, port, tmp_path)
        client = redis_client.Redis(port=port)
        back = time.monotonic()
        workers.append(_worker(node, "delivery", tmp_path / "worker-delivery.log"))
        wait_until(lambda: client.llen("delivery") + client.hlen("unacked") >= 1, 60, "re-sent", interval=0.05)
        delivery_resent = time.monotonic() - back
        wait_until(lambda: node.studies()[0]["state"] == "delivered", 60, "delivered after the second restart")
        delivered = time.monotonic() - back
        print(
            f"recovery after a Redis restart: job re-sent in {job_resent:.1f} s; delivery re-sent in "
            f"{delivery_resent:.1f} s, delivered {delivered:.1f} s after Redis was back (worker start included)"
        )
        assert job_resent < 15 and delivery_resent < 15, "seconds, not the five minutes of a fixed re-send delay"
        assert delivered < 45
        assert "broker holds no message" in node.log_text()
        srs = orthanc.instances_by_modality().get("SR", [])
        assert len(srs) == 1 and srs[0]["StudyInstanceUID"] == study.study_instance_uid
        with sqlite3.connect(tmp_path / "node" / "var" / "spinenode.sqlite") as con:
            assert con.execute("SELECT state, attempts FROM job").fetchall() == [("done", 1)], "the job ran once"
            assert con.execute("SELECT count(*) FROM attempt").fetchone() == (1,), "one delivery attempt"
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        node.stop()
        redis.terminate()
        redis.wait(timeout=10)
