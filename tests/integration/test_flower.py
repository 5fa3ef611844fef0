"""The Flower option: ``spinenode flower`` serves Celery's monitor for the node's broker."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from peers import free_port, wait_for_port


def test_flower_serves_its_dashboard(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[node]\ndata_dir = "{tmp_path / "var"}"\n')
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "node", "flower", "--config", str(cfg), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            assert resp.status == 200
            assert b"Flower" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
