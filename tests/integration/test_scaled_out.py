"""Scaled out with real services: Redis as the broker, PostgreSQL as the registry, ``serve --no-worker``
receiving and a separate ``spinenode worker`` process analysing and delivering to Orthanc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis
from peers import NodeProcess, Orthanc, storescu, wait_until
from postgres import database_url, fresh_database

from workers.phantom import write_phantom

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_redis_broker_postgresql_registry_separate_worker(tmp_path: Path, orthanc: Orthanc) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as db_url:
        _serve_and_work(tmp_path, orthanc, db_url)


def _serve_and_work(tmp_path: Path, orthanc: Orthanc, db_url: str) -> None:
    study = write_phantom(tmp_path / "study", "simple")
    node = NodeProcess(
        tmp_path / "node",
        destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": orthanc.dicom_port}],
        extra={"database": {"url": db_url}, "broker": {"url": REDIS_URL}},
    )
    node.start("--no-worker")
    worker = subprocess.Popen(
        [sys.executable, "-m", "node", "worker", "--config", str(node.config_path)],
        stdout=open(tmp_path / "worker.log", "wb"),
        stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    try:
        assert storescu(list(study.files), node.port).returncode == 0
        wait_until(lambda: node.studies() and node.studies()[0]["state"] == "delivered", 120, "delivered")
        found = orthanc.instances_by_modality()
        assert any(t["StudyInstanceUID"] == study.study_instance_uid for t in found.get("SR", []))
        # the registry really is the PostgreSQL database
        with psycopg.connect(database_url(db_url.rsplit("/", 1)[1], driver="")) as con:
            state = con.execute("SELECT state FROM study").fetchone()
        assert state == ("delivered",)
        # the serving process ran no analysis itself: the worker did
        assert "job 1: analysing" not in node.log_text()
        assert "job 1: analysing" in (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        node.stop()
