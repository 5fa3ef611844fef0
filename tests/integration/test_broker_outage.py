"""A broker outage only delays work: with Redis down the node keeps receiving, the registry holds the
unsent job, and once Redis is back the reconciler sends it and the results reach the PACS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
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
