"""CPU and wall seconds per pipeline step for one study, in this process, with N analysis workers.

``python benchmarks/latency_cpu.py --sizes 585,1170 --workers 1,2``: builds each study (as
``benchmarks/latency.py`` does: :func:`latency_study.build_study`) once, then runs the inventory, analysis,
criteria and results steps as the worker runs them, once per worker count, interleaved, and prints per step the
wall seconds and the CPU seconds of this process and of every process under it (the segmentation pool's
workers included), then checks that the findings JSON, QC and measurements are the same for every worker
count. CPU seconds are the figure to compare on a loaded machine; print ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from pydicom import dcmread

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency_study import build_study  # noqa: E402

from workers.analysis import contract  # noqa: E402
from workers.pipeline import steps  # noqa: E402
from workers.pipeline.context import PIPELINES, PipelineContext, SeriesFiles  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int | None = None) -> float:
    """User + system CPU of process ``root`` (default: this one), its reaped children and every live
    descendant (and theirs)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK)
    children = defaultdict(list)
    for pid, (ppid, _) in stats.items():
        children[ppid].append(pid)
    total, todo = 0.0, [os.getpid() if root is None else root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(children.get(pid, []))
    return total


def run(folder: Path, study_uid: str, out: Path) -> tuple[dict[str, tuple[float, float]], str]:
    by_series: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.rglob("*.dcm")):
        by_series[str(dcmread(path, stop_before_pixels=True).SeriesInstanceUID)].append(path)
    ctx = PipelineContext(
        study_uid=study_uid,
        revision=1,
        series=[SeriesFiles(uid, tuple(paths)) for uid, paths in by_series.items()],
        content_datetime=datetime(2026, 12, 1, 12, 0),
        pipelines=PIPELINES,
        output_dir=out,
    )
    seconds = {}
    for name in ("inventory", "analysis", "criteria", "results"):
        wall, cpu = time.perf_counter(), tree_cpu()
        steps.STEPS[name](ctx)
        seconds[name] = (time.perf_counter() - wall, tree_cpu() - cpu)
    outcome = {
        "measurements": [contract.measurement_json(m) for m in ctx.measurements],
        "qc": [v.as_json() for v in ctx.qc],
        "levels": ctx.levels,
        "notes": ctx.notes,
        "errors": ctx.errors,
    }
    return seconds, json.dumps(outcome, sort_keys=True, default=str)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="585,1170")
    parser.add_argument("--workers", default="1,2", help="analysis worker counts, comma-separated")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"study-{size}"
            study_uid = build_study(folder, size)
            outcomes = set()
            for n in (int(w) for w in args.workers.split(",")):
                os.environ["SPINENODE_ANALYSIS_WORKERS"] = str(n)
                seconds, outcome = run(folder, study_uid, Path(tmp) / f"out-{size}-{n}")
                outcomes.add(outcome)
                line = "  ".join(f"{k} {w:.2f}s wall {c:.2f}s cpu" for k, (w, c) in seconds.items())
                total_wall = sum(w for w, _ in seconds.values())
                total_cpu = sum(c for _, c in seconds.values())
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"{size} images, {n} worker(s): {line}  | all {total_wall:.2f}s wall {total_cpu:.2f}s cpu"
                    f"  | peak RSS so far {rss:.0f} MiB"
                )
            print(f"{size} images: outputs {'identical' if len(outcomes) == 1 else 'DIFFER'} across worker counts")
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
