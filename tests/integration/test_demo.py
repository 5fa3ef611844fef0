"""``spinenode demo`` as a newcomer runs it: nothing written where it is started, and it says the node stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.slow
def test_demo_keeps_out_of_the_current_folder_and_says_the_node_stopped(tmp_path: Path) -> None:
    here, temporary = tmp_path / "checkout", tmp_path / "tmp"
    here.mkdir()
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temporary)}
    env.pop("SPINENODE_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "node", "demo", "--scenario", "simple"],
        cwd=here,
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(here.iterdir()) == [], "the demo wrote into the folder it was started from"
    (folder,) = temporary.glob("spinenode-demo-*")
    lines = done.stdout.splitlines()
    assert lines[-1] == (
        "the demo node has stopped (run `spinenode demo --keep` to keep it running and open its worklist); "
        f"its data is in {folder}"
    )
    assert not any(line.strip().startswith("worklist: http") for line in lines), "no URL of a node that has stopped"
    sr = next(line.split(": ", 1)[1] for line in lines if line.strip().startswith("SR: "))
    assert Path(sr).is_file() and Path(sr).is_relative_to(folder)
