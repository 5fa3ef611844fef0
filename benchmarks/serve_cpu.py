"""CPU the whole ``spinenode serve`` composition spends per received image, in process, by thread.

Where ``receive_cpu.py`` measures the SCP with its spool and journal alone, this runs what ``spinenode serve
--no-web --no-worker`` runs (:class:`node.daemon.node.Node`: the SCP, the ingest recorder writing the
registry, metrics, audit, stability, reconciler, housekeeping) on a fresh data folder with its SQLite
registry, has DCMTK storescu (``TCP_NODELAY=1``) send N images, waits until the recorder has written them
all, and prints the process's user + system CPU time per image, split into the association's threads (the
receive path: decoding, verifying, journal, instance file) and each long-lived thread (the recorder, the
pollers), from ``/proc/self/task``.

    python benchmarks/serve_cpu.py [--images 200] [--rounds 3] [--study DIR] [--profile FILE]

``--profile`` runs the association's DUL thread and the recorder's thread under cProfile (thread CPU
clock) and writes the stats of the last round to ``FILE.dul`` and ``FILE.recorder``. For a figure that does
not move with the load, count instructions: run it under ``valgrind --tool=callgrind --separate-threads=yes``
with ``--study DIR --rounds 1`` for two image counts and divide the difference of the totals (per thread) by
the difference of the counts. Not a test: nothing is asserted.
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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_study  # noqa: E402
from receive_cpu import profiled  # noqa: E402

from node import runtime  # noqa: E402
from node.daemon.node import Node  # noqa: E402
from node.dicom import reactors  # noqa: E402
from node.settings import load_settings  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, float]:
    """CPU seconds of every live thread of this process, by thread name (the same names summed)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        name = names.get(int(task.name), "other")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--study", type=Path, help="send this folder's files (made once elsewhere; one round)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats to FILE.dul and FILE.recorder")
    args = parser.parse_args()
    if args.study is not None and args.rounds != 1:
        parser.error("--study: one round (a second would only send duplicates, which are not recorded)")
    root = Path(tempfile.mkdtemp(prefix="spinenode-serve-cpu-"))
    dul_profiles: list[cProfile.Profile] = []
    recorder_profiles: list[cProfile.Profile] = []
    if args.profile:
        from node.ingest.recorder import IngestRecorder

        reactors.WakingDUL.run = profiled(reactors.WakingDUL.run, dul_profiles)  # type: ignore[method-assign]
        IngestRecorder._run = profiled(IngestRecorder._run, recorder_profiles)  # type: ignore[method-assign]
    config = root / "node.toml"
    config.write_text(f'[node]\nport = 0\ndata_dir = "{root / "data"}"\nstable_seconds = 36000.0\nmin_free_bytes = 0\n')
    settings = load_settings(config, environ={})
    rt = runtime.install(runtime.Runtime.create(settings))
    node = Node(rt, with_worker=False, with_web=False)
    node.start()
    env = {**os.environ, "TCP_NODELAY": "1"}
    per_image: list[float] = []
    try:
        study = args.study or root / "study"
        for rnd in range(args.rounds):
            if args.study is None:
                make_study(study, args.images, rnd)
            files = sorted(str(p) for p in study.iterdir())[: args.images]
            os.sync()
            dul_profiles.clear()
            threads_before = thread_cpu()
            cpu, wall = time.process_time(), time.perf_counter()
            subprocess.run(
                ["/usr/bin/storescu", "-aec", "SPINENODE", "127.0.0.1", str(node.scp.port), *files],
                env=env,
                check=True,
                capture_output=True,
            )
            wall = time.perf_counter() - wall
            while node.recorder.pending:
                time.sleep(0.01)
            cpu = time.process_time() - cpu
            threads = thread_cpu()
            node.spool.wait_for_checkpoints()
            per_image.append(cpu / args.images * 1000)
            long_lived = {
                name: (threads.get(name, 0.0) - threads_before.get(name, 0.0)) / args.images * 1000
                for name in threads
                if name in threads_before
            }
            rest = per_image[-1] - sum(long_lived.values())
            split = ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(long_lived.items()) if ms >= 0.005)
            print(
                f"round {rnd + 1}: {per_image[-1]:.2f} ms CPU/image ({args.images / wall:.1f} images/s); "
                f"association threads {rest:.2f}; {split}"
            )
            if args.study is None:
                shutil.rmtree(study)
    finally:
        node.stop()
        rt.registry.dispose()
        shutil.rmtree(root, ignore_errors=True)
    print(f"median {statistics.median(per_image):.2f} ms CPU/image; load average {os.getloadavg()}")
    if args.profile:
        if dul_profiles:
            dul_profiles[0].dump_stats(f"{args.profile}.dul")
        if recorder_profiles:
            recorder_profiles[0].dump_stats(f"{args.profile}.recorder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
