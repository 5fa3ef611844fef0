"""Analysis throughput with 1, 2 and 4 ``spinenode worker`` processes on Redis + PostgreSQL.

Each round: a fresh PostgreSQL database and an emptied Redis (a server of the benchmark's own, on a free port,
no persistence), the given number of worker processes (``--concurrency 1`` each, so processes are what
scales), then the same phantom studies (35 MR images each) recorded as received and stable, their jobs sent
to the broker at once. Timed from the send to the last job's finish as the registry records it. Afterwards
every job must be done after exactly one claim (``attempts == 1``) with one SR per study: a job run twice
would show.

    python benchmarks/throughput.py [--studies 10] [--workers 1,2,4]

On a machine shared with other work the wall-clock rate says little alone, so each round also prints:

- the CPU seconds the workers used per study (user + system of each worker process and its descendants,
  from ``/proc``, the analysis pool's processes included), between the send and the last finish: it stays
  flat when the workers only share the cores, and grows when they wait on each other busily (spinning on a
  lock, retrying claims);
- the cores the workers kept busy (those CPU seconds / the wall seconds) beside the cores there are, and the
  load average at the start and the end of the round: a rate that does not scale while the workers keep
  fewer cores busy than they could means they wait (a lock, a queue), one that does not scale while the load
  average is above the cores means the machine was full;
- the threads' time on a core and waiting for one (the run queue, ``/proc/<pid>/task/<tid>/schedstat``)
  beside the jobs' wall time: what is neither is time asleep (I/O, a lock, the broker);
- the jobs each worker ran, and how long jobs waited while a worker was idle (a worker holding jobs it has
  not started while another idles: a prefetch, or a claim that serialises), which must be ~0;
- that every job ran after exactly one claim (``attempts`` 1) with one SR per study.

``--analysis-workers N`` sets ``SPINENODE_ANALYSIS_WORKERS`` in the workers (default: the node's, one pool
process per core for a job's axial series; 1 keeps each job in its process, so processes are what scales).

Prints studies/min per worker count, the speed-up over one worker and the efficiency per core in use
(speed-up / min(workers, cores)). Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import redis
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.dicom.headers import parse_header  # noqa: E402
from node.dicom.received import Received  # noqa: E402
from node.ingest.recorder import PatientKeyer, record_instances  # noqa: E402
from node.registry.db import Registry  # noqa: E402
from node.registry.models import Job, JobState, Result, ResultKind, WorkerHeartbeat, utcnow  # noqa: E402
from node.stability import mark_stable  # noqa: E402
from workers.phantom import write_phantom  # noqa: E402

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres:spinenode@127.0.0.1/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(what: str, ready: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def _pong(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def tree(roots: list[int], stats: dict[int, list[str]] | None = None) -> list[int]:
    """``roots`` and their live descendants."""
    stats = stats if stats is not None else _all_stats()
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(int(st[1]), []).append(pid)
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in out:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def _all_stats() -> dict[int, list[str]]:
    return {int(p.name): st for p in Path("/proc").iterdir() if p.name.isdigit() and (st := _stat(int(p.name)))}


class SchedSampler:
    """Samples ``/proc/<pid>/task/<tid>/schedstat`` of every thread of the workers' process trees: the time
    each thread ran on a core and the time it was ready but waited for one (the run queue). What a job's
    wall time holds beyond the two is time asleep: I/O, a lock, the broker. Sampled every ``every`` seconds,
    each thread's last figures kept, so a pool process that exits leaves what it had at the last sample."""

    def __init__(self, roots: list[int], every: float = 0.5) -> None:
        self.roots, self.every = roots, every
        self.first: dict[int, tuple[int, int]] = {}
        self.last: dict[int, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict[int, tuple[int, int]]:
        out = {}
        for pid in tree(self.roots):
            try:
                tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
            except OSError:
                continue
            for tid in tids:
                try:
                    ran, waited, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
                except (OSError, ValueError):
                    continue
                out[tid] = (int(ran), int(waited))
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.last.update(self.sample())

    def start(self) -> SchedSampler:
        self.first = self.sample()
        self.last = dict(self.first)
        self._thread.start()
        return self

    def stop(self) -> tuple[float, float]:
        """Seconds on a core and seconds waiting for one, summed over the threads, since :meth:`start`."""
        self._stop.set()
        self._thread.join()
        self.last.update(self.sample())
        ran = sum(r - self.first.get(t, (0, 0))[0] for t, (r, _) in self.last.items())
        waited = sum(w - self.first.get(t, (0, 0))[1] for t, (_, w) in self.last.items())
        return ran / 1e9, waited / 1e9


def tree_cpu_seconds(roots: list[int]) -> float:
    """User + system CPU seconds of the processes ``roots`` and every live descendant, with the children they
    have reaped (``cutime``, ``cstime``): the analysis pool's processes count for the worker that runs them."""
    stats = _all_stats()
    return sum(sum(int(v) for v in stats[pid][11:15]) for pid in tree(roots, stats)) / CLOCK_TICKS  # utime..cstime


@dataclass
class Round:
    seconds: float
    check: str
    cpu_seconds: float
    jobs_per_worker: list[int]
    idle_wait_seconds: float  # the longest a job waited while a worker was idle
    handoffs: list[float]  # seconds from a job's finish to the start of the same worker's next job
    job_seconds: float  # wall seconds of the jobs, summed
    on_core: float  # seconds the workers' threads ran (schedstat)
    run_queue: float  # seconds they were ready but waited for a core
    load_start: float
    load_end: float


def idle_wait(jobs: list[tuple[str, datetime, datetime]], workers: int, sent: datetime) -> float:
    """The longest a job waited, between the send and its start, while fewer than ``workers`` jobs ran (a
    worker was idle); ``jobs`` is (worker, started, finished) per job, all sent at ``sent``. A worker that
    takes its next job as soon as it is free leaves only the hop (the registry's writes, the broker)."""
    times = sorted({sent, *(j[1] for j in jobs), *(j[2] for j in jobs)})
    idle = [  # the spans in which a worker was idle
        (a, b) for a, b in zip(times, times[1:], strict=False) if sum(1 for j in jobs if j[1] <= a < j[2]) < workers
    ]
    return max(
        (sum((min(b, j[1]) - a).total_seconds() for a, b in idle if a < j[1]) for j in jobs),
        default=0.0,
    )


def handoffs(jobs: list[tuple[str, datetime, datetime]]) -> list[float]:
    """Per worker, the seconds from the finish of each job to the start of its next one (the registry's times)."""
    out = []
    for worker in {j[0] for j in jobs}:
        mine = sorted((j for j in jobs if j[0] == worker), key=lambda j: j[1])
        out += [(b[1] - a[2]).total_seconds() for a, b in zip(mine, mine[1:], strict=False)]
    return sorted(out)


def record(registry: Registry, folder: Path, files: list[Path]) -> None:
    keyer = PatientKeyer(folder)
    items = [
        Received(parse_header(f), f, f.stat().st_size, calling_aet="MODALITY", called_aet="SPINENODE") for f in files
    ]
    with registry.session() as session:
        record_instances(session, items, keyer)


def one_round(workers: int, studies: list[list[Path]], folder: Path, broker: str, analysis_workers: str) -> Round:
    name = f"spinenode_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    db_url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    redis.Redis.from_url(broker).flushall()
    data = folder / f"var-{workers}"
    config = folder / f"node-{workers}.toml"
    config.write_text(f'[node]\ndata_dir = "{data}"\n[database]\nurl = "{db_url}"\n[broker]\nurl = "{broker}"\n')
    registry = Registry(db_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if analysis_workers:
        env["SPINENODE_ANALYSIS_WORKERS"] = analysis_workers
    procs: list[subprocess.Popen[bytes]] = []
    try:
        logs = [open(folder / f"worker-{workers}-{i}.log", "wb") for i in range(workers)]  # noqa: SIM115
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "node", "worker", "--config", str(config), "--concurrency", "1"],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]

        def alive() -> bool:
            with registry.session() as session:
                return (session.scalar(select(func.count(WorkerHeartbeat.id))) or 0) >= workers

        wait("worker heartbeats", alive, 180)
        from workers.celery_app import app

        # The Celery consumers start after the heartbeat thread, and a loaded machine can make that seconds:
        # the round starts once every worker answers a ping (it consumes), so none idles for want of starting.
        wait("workers consuming", lambda: len(app.control.ping(timeout=1.0)) >= workers, 180)
        for files in studies:
            record(registry, data, files)
        with registry.session() as session:
            job_ids = mark_stable(session, -1.0, set())
        from workers.tasks import analyse_study

        load_start = os.getloadavg()[0]
        cpu_start = tree_cpu_seconds([p.pid for p in procs])
        sampler = SchedSampler([p.pid for p in procs]).start()
        sent = utcnow()
        start = time.monotonic()
        for job_id in job_ids:
            analyse_study.delay(job_id)

        def finished() -> bool:
            with registry.session() as session:
                left = session.scalar(
                    select(func.count(Job.id)).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
                )
                return left == 0

        wait("all jobs finished", finished, 60 * 30)
        elapsed = time.monotonic() - start
        cpu_seconds = tree_cpu_seconds([p.pid for p in procs]) - cpu_start
        on_core, run_queue = sampler.stop()
        load_end = os.getloadavg()[0]
        with registry.session() as session:
            last = session.scalar(select(func.max(Job.finished_at)))
            jobs = session.scalars(select(Job)).all()
            srs = session.scalar(select(func.count(Result.id)).where(Result.kind == ResultKind.SR)) or 0
            states = sorted({j.state.value for j in jobs})
            attempts = sorted({j.attempts for j in jobs})
            runs = [(j.worker or "", j.started_at, j.finished_at) for j in jobs if j.started_at and j.finished_at]
        seconds = (last - sent).total_seconds() if last is not None else elapsed
        check = f"jobs {len(jobs)} {'/'.join(states)}, attempts {attempts}, SRs {srs}"
        per_worker = sorted((sum(1 for r in runs if r[0] == w) for w in {r[0] for r in runs}), reverse=True)
        return Round(
            max(seconds, 0.001),
            check,
            cpu_seconds,
            per_worker,
            idle_wait(runs, workers, sent),
            handoffs(runs),
            sum((r[2] - r[1]).total_seconds() for r in runs),
            on_core,
            run_queue,
            load_start,
            load_end,
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        registry.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def describe(n: int, r: Round, studies: int, speedup: float, cores: int) -> str:
    return (
        f"{n} worker(s): {studies} studies in {r.seconds:6.1f} s = {studies / r.seconds * 60:5.1f} studies/min; "
        f"x{speedup:4.2f} over one; per core in use {speedup / min(n, cores):4.2f}; "
        f"CPU {r.cpu_seconds / studies:5.1f} s/study, {r.cpu_seconds / r.seconds:4.2f} of {cores} cores busy; "
        f"jobs per worker {'/'.join(map(str, r.jobs_per_worker))}, "
        f"longest wait beside an idle worker {r.idle_wait_seconds:.1f} s, hand-off to the next job median "
        f"{statistics.median(r.handoffs or [0.0]):.2f} s, max {max(r.handoffs or [0.0]):.2f} s; "
        f"jobs' wall {r.job_seconds:.1f} s: threads on a core {r.on_core:.1f} s, waiting for a core "
        f"{r.run_queue:.1f} s; {r.check}; load {r.load_start:.2f} -> {r.load_end:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--analysis-workers", default="", help="SPINENODE_ANALYSIS_WORKERS in the workers")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.workers.split(",")]
    cores = os.cpu_count() or 1
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        broker = f"redis://127.0.0.1:{port}/0"
        wait("redis", lambda: _pong(broker), 30)
        from workers.celery_app import configure

        configure(broker, Path(tempfile.gettempdir()))
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start", flush=True)
        with tempfile.TemporaryDirectory(prefix="spinenode-throughput-") as tmp:
            folder = Path(tmp)
            studies = [sorted(write_phantom(folder / f"study-{i}", "simple").files) for i in range(opts.studies)]
            rates: dict[int, float] = {}
            for n in counts:
                r = one_round(n, studies, folder, broker, opts.analysis_workers)
                rates[n] = opts.studies / r.seconds * 60
                speedup = rates[n] / rates[counts[0]] * counts[0]  # over one worker, taking the first count's rate
                print(describe(n, r, opts.studies, speedup, cores), flush=True)
    finally:  # the benchmark's own Redis goes with it, whatever happened
        server.terminate()
        server.wait(timeout=30)
    print(f"{cores} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
