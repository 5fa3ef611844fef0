"""Analysis throughput with 1, 2 and 4 ``spinenode worker`` processes on Redis + PostgreSQL.

Each round: a fresh PostgreSQL database and an emptied Redis (a server of the benchmark's own, on a free port,
no persistence), the given number of worker processes (``--concurrency 1`` each, so processes are what
scales), then the same phantom studies (35 MR images each) recorded as received and stable, their jobs sent
to the broker at once. Timed from the send to the last job's finish as the registry records it. Afterwards
every job must be done after exactly one claim (``attempts == 1``) with one SR per study: a job run twice
would show.

    python benchmarks/throughput.py [--studies 10] [--workers 1,2,4]

Prints studies/min per worker count, the speed-up over one worker and the efficiency per core in use
(speed-up / min(workers, cores)), with the load average. Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
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


def record(registry: Registry, folder: Path, files: list[Path]) -> None:
    keyer = PatientKeyer(folder)
    items = [
        Received(parse_header(f), f, f.stat().st_size, calling_aet="MODALITY", called_aet="SPINENODE") for f in files
    ]
    with registry.session() as session:
        record_instances(session, items, keyer)


def one_round(workers: int, studies: list[list[Path]], folder: Path, broker: str) -> tuple[float, str]:
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
        time.sleep(3)  # the Celery consumers start after the heartbeat thread
        for files in studies:
            record(registry, data, files)
        with registry.session() as session:
            job_ids = mark_stable(session, -1.0, set())
        from workers.tasks import analyse_study

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
        with registry.session() as session:
            last = session.scalar(select(func.max(Job.finished_at)))
            jobs = session.scalars(select(Job)).all()
            srs = session.scalar(select(func.count(Result.id)).where(Result.kind == ResultKind.SR)) or 0
            states = sorted({j.state.value for j in jobs})
            attempts = sorted({j.attempts for j in jobs})
        seconds = (last - sent).total_seconds() if last is not None else elapsed
        check = f"jobs {len(jobs)} {'/'.join(states)}, attempts {attempts}, SRs {srs}"
        return max(seconds, 0.001), check
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.workers.split(",")]
    cores = os.cpu_count() or 1
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    broker = f"redis://127.0.0.1:{port}/0"
    wait("redis", lambda: _pong(broker), 30)
    from workers.celery_app import configure

    configure(broker, Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="spinenode-throughput-") as tmp:
        folder = Path(tmp)
        studies = [sorted(write_phantom(folder / f"study-{i}", "simple").files) for i in range(opts.studies)]
        rates: dict[int, float] = {}
        for n in counts:
            seconds, check = one_round(n, studies, folder, broker)
            rates[n] = opts.studies / seconds * 60
            speedup = rates[n] / rates[counts[0]] * counts[0]  # over one worker, taking the first count's rate
            print(
                f"{n} worker(s): {opts.studies} studies in {seconds:6.1f} s = {rates[n]:5.1f} studies/min; "
                f"x{speedup:4.2f} over one; per core in use {speedup / min(n, cores):4.2f}; {check}; "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    server.terminate()
    server.wait(timeout=30)
    print(f"{cores} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
