"""Scaled out with real services: Redis as the broker, PostgreSQL as the registry, ``serve --no-worker``
receiving and a separate ``spinenode worker`` process analysing and delivering to Orthanc."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from peers import NodeProcess, Orthanc, storescu, wait_until

from workers.phantom import write_phantom

pytestmark = pytest.mark.integration

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_redis_broker_postgresql_registry_separate_worker(tmp_path: Path, orthanc: Orthanc) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    name = f"spinenode_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    db_url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
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
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}") as con:
            state = con.execute("SELECT state FROM study").fetchone()
        assert state == ("delivered",)
        # the serving process ran no analysis itself: the worker did
        assert "job 1: analysing" not in node.log_text()
        assert "job 1: analysing" in (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        node.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
