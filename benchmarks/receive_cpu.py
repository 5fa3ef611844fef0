"""CPU the node's receive path spends per image, in process: DCMTK storescu sends N images to a StorageSCP.

The SCP runs in this process with a real spool and journal (``on_received`` only collects the records, so
the registry is left out); the figure is this process's user + system CPU time over the send, divided by
the images, which holds on a loaded machine far better than a wall-clock rate. Also printed: the median
time of the journal's ``fdatasync`` per image (the wait for the disk, which the CPU figure leaves out).
Between rounds only the received instances are removed: the journal's emptied segment is reused, as in a
node that stays up.

    python benchmarks/receive_cpu.py [--images 200] [--rounds 3] [--study DIR] [--profile FILE [--cpu-profile]]

``--profile`` runs the DUL thread (where C-STORE is decoded and served) under cProfile and writes the
stats of the last round to FILE (read with ``python -m pstats FILE``); ``--cpu-profile`` counts that
thread's CPU time instead of wall time (the profiler's own cost then inflates Python-level calls).
For a figure that does not move with the load, count instructions: run it under
``valgrind --tool=callgrind`` with ``--study DIR --rounds 1`` for two image counts and divide the
difference of the totals by the difference of the counts (start-up cancels out).
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_study  # noqa: E402

from node.dicom import reactors  # noqa: E402
from node.dicom.received import Received  # noqa: E402
from node.dicom.scp import StorageSCP  # noqa: E402
from node.dicom.spool import JOURNAL_FOLDER, Spool  # noqa: E402


def profiled(stock: Callable[..., None], profiles: list[cProfile.Profile], cpu_clock: bool = True) -> Any:
    """``stock`` (a thread's run method) under a cProfile of its own thread, on its CPU clock or the wall's."""

    def run(self: Any) -> None:
        profile = cProfile.Profile(time.thread_time) if cpu_clock else cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            stock(self)
        finally:
            profile.disable()

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--study", type=Path, help="send this folder's files (made once elsewhere) every round")
    parser.add_argument("--cpu-profile", action="store_true", help="profile thread CPU time, not wall time")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="spinenode-receive-"))
    profiles: list[cProfile.Profile] = []
    if args.profile:
        reactors.WakingDUL.run = profiled(reactors.WakingDUL.run, profiles, args.cpu_profile)  # type: ignore[method-assign]
    received: list[Received] = []
    syncs: list[float] = []
    fdatasync = os.fdatasync

    def timed_fdatasync(fd: int) -> None:
        started = time.perf_counter()
        fdatasync(fd)
        syncs.append(time.perf_counter() - started)

    os.fdatasync = timed_fdatasync
    spool = Spool(root / "spool")
    scp = StorageSCP(ae_title="SPINENODE", host="127.0.0.1", port=0, spool=spool, on_received=received.append)
    scp.start()
    env = {**os.environ, "TCP_NODELAY": "1"}
    per_image: list[float] = []
    try:
        study = args.study or root / "study"
        for rnd in range(args.rounds):
            if args.study is None:
                make_study(study, args.images, rnd)
            files = sorted(str(p) for p in study.iterdir())[: args.images]
            os.sync()
            profiles.clear()
            syncs.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            subprocess.run(
                ["/usr/bin/storescu", "-aec", "SPINENODE", "127.0.0.1", str(scp.port), *files],
                env=env,
                check=True,
                capture_output=True,
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            spool.wait_for_checkpoints()  # after the figure: its syncfs also writes back other processes' pages
            per_image.append(cpu / args.images * 1000)
            sync = statistics.median(syncs) * 1000 if syncs else 0.0
            print(
                f"round {rnd + 1}: {per_image[-1]:.2f} ms CPU/image, {args.images / wall:.1f} images/s, "
                f"fdatasync median {sync:.2f} ms ({len(syncs)} calls)"
            )
            if args.study is None:
                shutil.rmtree(study)
            for child in spool.root.iterdir():
                if child.name != JOURNAL_FOLDER:
                    shutil.rmtree(child)
            spool._known_dirs.clear()
    finally:
        scp.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"median {statistics.median(per_image):.2f} ms CPU/image; load average {os.getloadavg()}")
    if args.profile and profiles:  # storescu sends on one association: one DUL thread
        profiles[0].dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
