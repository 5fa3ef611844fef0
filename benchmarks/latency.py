"""Processing latency: a running node analyses a study and stores its SR, card and SEG in Orthanc.

For each study size (default 40, 585 and 1,170 images; built by :mod:`latency_study` from the spine phantom
and the real shared DICOM data) a fresh node (``spinenode serve``, embedded broker and worker, SQLite) and a
fresh Orthanc (its destination) are started; DCMTK storescu sends the study; the figures are read back from
the node's registry once every result is delivered:

- **latency**: from the moment the study is stable (``study.stable_at``) to the last result stored in Orthanc
  (``study.delivered_at``, set when the C-STORE of the last result came back as a success);
- per step: past ``stable_seconds``, the wait of the quiet study for the stability check that marks it
  stable (not in the latency: it starts at ``stable_at``), waiting for a worker, inventory, analysis,
  criteria, results (``stage_seconds`` of the report), saving the outcome, waiting for the delivery worker, delivery;
- **CPU s**: the CPU time of the serve process and every process under it (the analysis pool's fork server
  and workers) from the first image sent to the last result delivered (receiving included), the figure to
  compare on a loaded machine;
- **ingest images/s**: the study's images over the seconds storescu took to send them (one image at a time,
  each waiting for its answer: the receiving side's rate, with the early work running beside it);
- **peak RSS** of the serve process (``VmHWM``; the node is new for every study, so it is that study's peak).

``--code NAME=DIR`` (repeatable) runs the node from another checkout (``PYTHONPATH=DIR``), e.g. a worktree of
main as the reference, interleaved with this one in every round. ``/metrics`` is read once per run to show
the stage histogram a running node serves.

    python benchmarks/latency.py [--sizes 40,585,1170] [--rounds 1] [--code main=/tmp/main]

Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import OrthancReceiver, free_port, wait_port  # noqa: E402
from latency_cpu import tree_cpu  # noqa: E402
from latency_study import build_study  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
STEPS = (
    "quiet to stable",
    "wait for worker",
    "inventory",
    "analysis",
    "criteria",
    "results",
    "save",
    "to delivery",
    "delivery",
)


def _when(value: str | None) -> float:
    if not value:
        raise ValueError("timestamp missing")
    return datetime.fromisoformat(value).timestamp()


class Node:
    """``spinenode serve`` from checkout ``code`` with Orthanc as its one destination."""

    def __init__(self, root: Path, code: Path, orthanc_port: int, stable_seconds: float) -> None:
        self.root, self.code, self.stable_seconds = root, code, stable_seconds
        self.port, self.web = free_port(), free_port()
        self.data = root / "node"
        self.config = root / "node.toml"
        self.config.write_text(
            f'[node]\nport = {self.port}\ndata_dir = "{self.data}"\nstable_seconds = {stable_seconds}\n'
            f"min_free_bytes = 0\n[web]\nport = {self.web}\n"
            f'[[destinations]]\nname = "pacs"\nae_title = "ORTHANC"\nhost = "127.0.0.1"\nport = {orthanc_port}\n'
        )
        self.log = (root / "node.log").open("wb")
        env = dict(os.environ, PYTHONPATH=str(code))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node", "serve", "--config", str(self.config)],
            env=env,
            cwd=str(root),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, 60)
        wait_port(self.web, 60)

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def cpu_seconds(self) -> float:
        """User + system CPU of the serve process so far (all its threads) and of every process under it:
        the fork server and the analysis pool's workers, live or ended (an ended worker is counted in the
        fork server's children's CPU, the fork server being alive)."""
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/metrics", timeout=10) as r:
            return str(r.read().decode())

    def wait_delivered(self, timeout: float) -> dict[str, float]:
        """Seconds per step once the study is delivered (raises on failure or timeout)."""
        deadline = time.monotonic() + timeout
        db = self.data / "spinenode.sqlite"
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if self.proc.poll() is not None:
                raise RuntimeError(f"the node exited ({self.proc.returncode}); see {self.log.name}")
            if not db.exists():
                continue
            with sqlite3.connect(db, timeout=5) as con:
                row = con.execute("SELECT id, state, stable_at, delivered_at, last_received_at FROM study").fetchone()
                if row is None or row[3] is None:
                    failed = con.execute("SELECT error FROM job WHERE state = 'failed'").fetchone()
                    if failed:
                        raise RuntimeError(f"job failed: {failed[0]}")
                    continue
                steps = self._steps(con, row[0], _when(row[2]), _when(row[3]))
                steps["quiet to stable"] = _when(row[2]) - _when(row[4]) - self.stable_seconds
                return steps
        raise TimeoutError("study not delivered in time")

    @staticmethod
    def _steps(con: sqlite3.Connection, study_id: int, stable: float, delivered: float) -> dict[str, float]:
        started, finished = con.execute(
            "SELECT started_at, finished_at FROM job WHERE study_id = ? ORDER BY id DESC", (study_id,)
        ).fetchone()
        summary = con.execute(
            "SELECT summary FROM result WHERE study_id = ? AND kind = 'SR' ORDER BY id DESC", (study_id,)
        ).fetchone()[0]
        stages = (json.loads(summary) if isinstance(summary, str) else summary or {}).get("stage_seconds") or {}
        first_attempt, last_attempt = con.execute(
            "SELECT MIN(a.started_at), MAX(a.finished_at) FROM attempt a JOIN delivery d ON a.delivery_id = d.id "
            "WHERE d.study_id = ?",
            (study_id,),
        ).fetchone()
        job = _when(finished) - _when(started)
        steps = {
            "wait for worker": _when(started) - stable,
            **{k: float(stages.get(k, 0.0)) for k in ("inventory", "analysis", "criteria", "results")},
        }
        steps["save"] = job - sum(float(v) for v in stages.values())
        steps["to delivery"] = _when(first_attempt) - _when(finished)
        steps["delivery"] = _when(last_attempt) - _when(first_attempt)
        steps["latency"] = delivered - stable
        return steps


def orthanc_modalities(orthanc: OrthancReceiver) -> list[str]:
    """The modalities of the series Orthanc holds (to check the SR and the card arrived)."""
    cfg = json.loads((orthanc.root / "orthanc.json").read_text())
    base = f"http://127.0.0.1:{cfg['HttpPort']}"
    with urllib.request.urlopen(f"{base}/series?expand", timeout=10) as r:
        series = json.loads(r.read())
    return sorted(s["MainDicomTags"].get("Modality", "?") for s in series)


def send(folder: Path, port: int) -> float:
    files = sorted(str(p) for p in folder.rglob("*.dcm"))
    env = dict(os.environ, TCP_NODELAY="1")
    started = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/storescu", "-aec", "SPINENODE", "127.0.0.1", str(port), *files],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"storescu failed: {out.stderr[-500:]}")
    return time.perf_counter() - started


def cache_timeline(data: Path, stable: float) -> str:
    """When each segmentation of the node's cache was filed, in seconds after ``stable_at`` (negative: before)."""
    folder = data / "cache" / "segmentations"
    times = sorted(p.stat().st_mtime - stable for p in folder.glob("*.seg")) if folder.is_dir() else []
    return " ".join(f"{t:+.1f}" for t in times)


def one_run(
    root: Path, study: Path, code: Path, stable_seconds: float, show_metrics: bool, keep: Path | None = None
) -> dict[str, float]:
    run = root / "run"
    run.mkdir()
    orthanc = OrthancReceiver(run)
    orthanc.start(dict(os.environ))
    node = None
    try:
        node = Node(run, code, orthanc.port, stable_seconds)
        cpu = node.cpu_seconds()
        sent = send(study, node.port)
        steps = node.wait_delivered(timeout=900)
        steps["ingest images/s"] = sum(1 for _ in study.rglob("*.dcm")) / sent
        steps["CPU s"] = node.cpu_seconds() - cpu
        steps["peak RSS MiB"] = node.peak_rss_mib()
        made = re.findall(rb"segmentations: (\d+), of them (\d+) made while", (run / "node.log").read_bytes())
        if made:  # the job's log: how many of its segmentations the early work made before it needed them
            steps["segs"], steps["early segs"] = (float(x) for x in made[-1])
        if keep is not None:  # the node's log and when its early segmentations were filed, for reading later
            keep.mkdir(parents=True, exist_ok=True)
            name = f"{code.name}-{sum(1 for _ in study.rglob('*.dcm'))}-{int(time.time())}"
            shutil.copy(run / "node.log", keep / f"{name}.log")
            with sqlite3.connect(node.data / "spinenode.sqlite") as con:
                stable = _when(con.execute("SELECT stable_at FROM study").fetchone()[0])
            (keep / f"{name}.cache").write_text(cache_timeline(node.data, stable) + "\n")
        stored = orthanc_modalities(orthanc)
        if "SR" not in stored or "OT" not in stored and "SC" not in stored:
            raise RuntimeError(f"Orthanc holds {stored}: SR or card missing")
        if show_metrics:
            lines = [line for line in node.metrics().splitlines() if "stage_latency_seconds_count" in line]
            print("    /metrics: " + "; ".join(lines), flush=True)
        return steps
    finally:
        if node is not None:
            node.stop()
        orthanc.stop()
        shutil.rmtree(run, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,585,1170", help="study sizes in images, comma-separated")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stable-seconds", type=float, default=2.0)
    parser.add_argument("--keep-logs", type=Path, help="copy each run's node log and cache timeline here")
    parser.add_argument("--code", action="append", default=[], help="NAME=DIR: also run the node from DIR")
    args = parser.parse_args()
    codes = {"this checkout": HERE} | {k: Path(v) for k, v in (c.split("=", 1) for c in args.code)}
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="spinenode-latency-"))
    figures: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        studies = {n: root / f"study-{n}" for n in sizes}
        for n, folder in studies.items():
            build_study(folder, n)
        shown = False
        for rnd in range(args.rounds):
            names = list(codes)
            order = names[rnd % len(names) :] + names[: rnd % len(names)]  # interleave
            for n in sizes:
                for name in order:
                    steps = one_run(root, studies[n], codes[name], args.stable_seconds, not shown, args.keep_logs)
                    shown = True
                    figures.setdefault((name, n), []).append(steps)
                    print(
                        f"  round {rnd + 1} {name:14} {n:5} images: latency {steps['latency']:6.2f} s, "
                        f"analysis {steps['analysis']:6.2f} s, peak RSS {steps['peak RSS MiB']:6.0f} MiB, "
                        f"load {os.getloadavg()[0]:.1f}"
                        + (
                            f", early segmentations {steps['early segs']:.0f} of {steps['segs']:.0f}"
                            if "segs" in steps
                            else ""
                        ),
                        flush=True,
                    )
                    print("    " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nmedian of {args.rounds} round(s), stable_seconds = {args.stable_seconds}; load {os.getloadavg()}")
    columns = [*STEPS, "latency", "CPU s", "peak RSS MiB", "ingest images/s"]
    print(f"{'code':14} {'images':>6} " + " ".join(f"{c[:11]:>11}" for c in columns))
    for (name, n), runs in sorted(figures.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        med = {c: statistics.median(r[c] for r in runs) for c in columns}
        print(f"{name:14} {n:6} " + " ".join(f"{med[c]:11.2f}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
