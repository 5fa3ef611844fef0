"""A scaled-out node on several hosts, made as network namespaces by the test (see ``netns.py``):

    pacs    Orthanc, the PACS: sends the studies with DCMTK storescu and receives the results
    serve   ``spinenode serve --no-worker`` (SCP, reconciler, web)
    w1, w2  ``spinenode worker --concurrency 1`` each
    broker  a private Redis that keeps nothing on disk
    db      a private PostgreSQL (its own data folder, its own server: the machine's is never touched)

All processes start at the same moment on an empty database. The data folder (spool and results) is one
folder every namespace sees, standing in for NFS. Then:

0. the link of the worker running a job is cut for 10 s: the same worker finishes it (one claim), or, when
   the cut made a registry write of the task fail, the job is claimed again at once (two claims, one outcome);
1. the link of the worker running a job is cut for longer than ``GONE_AFTER``: the other worker takes the
   job over; whatever the cut worker still does with that job is refused by the registry (or lost with its
   connection), and it rejoins when its link comes back;
2. the broker's link is cut while new studies arrive, then restored.

Every study must be delivered to the PACS exactly once (one delivery, one successful attempt), every job run
to its end by one worker (one claim, except the job taken over: two claims, one outcome). The recovery times
are printed (``-s``).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netns import Host, Network, netns_refusal
from peers import NodeProcess, dcmtk

from node.broker.workers import GONE_AFTER
from workers.phantom import PhantomStudy, write_phantom

pytestmark = pytest.mark.integration

CUT_WORKER_SECONDS = GONE_AFTER.total_seconds() + 15
CUT_BROKER_SECONDS = 20.0
CUT_SHORT_SECONDS = 10.0


@pytest.fixture
def net() -> Iterator[Network]:
    reason = netns_refusal()
    if reason:
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    network = Network()
    try:
        yield network
    finally:
        network.close()


def _postgres(host: Host, log: Path) -> tuple[str, Path]:
    data = Path(tempfile.mkdtemp(prefix="spinenode-pg-"))  # outside pytest's root-only folder
    user = pwd.getpwnam("postgres")
    os.chown(data, user.pw_uid, user.pw_gid)
    as_pg = ["runuser", "-u", "postgres", "--"]
    init = host.run([*as_pg, "initdb", "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync"])
    assert init.returncode == 0, init.stderr
    with open(data / "db" / "pg_hba.conf", "a") as hba:
        hba.write("host all all 10.77.0.0/24 trust\n")  # the test hosts only
    settings = {
        "listen_addresses": host.address,
        "unix_socket_directories": str(data),
        "fsync": "off",
        # a client whose link is cut mid-transaction must not hold its row locks for hours
        "idle_in_transaction_session_timeout": "10s",
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
    }
    args = [f"-c{k}={v}" for k, v in settings.items()]
    host.popen([*as_pg, "postgres", "-D", str(data / "db"), *args], log)
    host.wait_port(host.address, 5432)
    create = host.run(["psql", "-h", host.address, "-U", "postgres", "-c", "CREATE DATABASE spinenode"])
    assert create.returncode == 0, create.stderr
    return f"postgresql+psycopg://postgres@{host.address}/spinenode", data


class Sql:
    def __init__(self, host: Host) -> None:
        self.host = host

    def rows(self, query: str) -> list[list[str]]:
        out = self.host.run(
            ["psql", "-h", self.host.address, "-U", "postgres", "-d", "spinenode", "-AtF|", "-c", query]
        )
        assert out.returncode == 0, out.stderr
        return [line.split("|") for line in out.stdout.splitlines() if line]


def _orthanc(host: Host, root: Path) -> None:
    root.mkdir(parents=True)
    config = {
        "Name": "pacs",
        "StorageDirectory": str(root / "db"),
        "IndexDirectory": str(root / "db"),
        "DicomAet": "ORTHANC",
        "DicomPort": 4242,
        "HttpPort": 8042,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowStore": True,
        "Plugins": [],
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    host.popen([shutil.which("Orthanc") or "/usr/sbin/Orthanc", str(root / "orthanc.json")], root / "orthanc.log")
    host.wait_port("127.0.0.1", 8042)
    host.wait_port(host.address, 4242)


def _pacs_get(host: Host, path: str) -> Any:
    out = host.run(["curl", "-sf", f"http://127.0.0.1:8042{path}"], timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _until(predicate: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _send(pacs: Host, serve: Host, study: PhantomStudy) -> None:
    args = [dcmtk("storescu"), "-nh", "-aec", "SPINENODE", "-aet", "ORTHANC", serve.address, "11112"]
    out = pacs.run([*args, *(str(p) for p in study.files)], timeout=300)
    assert out.returncode == 0, out.stderr


def test_multihost_worker_and_broker_partitions(net: Network, tmp_path: Path) -> None:
    pacs, serve, w1, w2, broker, db = (net.add(r) for r in ("pacs", "serve", "w1", "w2", "broker", "db"))
    logs = tmp_path / "logs"
    logs.mkdir()
    db_url, pg_dir = _postgres(db, logs / "postgres.log")
    try:
        redis_args = ["redis-server", "--bind", broker.address, "--port", "6379", "--save", "", "--appendonly", "no"]
        redis_args += ["--protected-mode", "no"]  # reachable only inside the test network
        broker.popen([*redis_args, "--dir", str(tmp_path)], logs / "redis.log")
        broker.wait_port(broker.address, 6379)
        _orthanc(pacs, tmp_path / "orthanc")
        shared = tmp_path / "shared"  # every namespace sees it: the stand-in for an NFS export
        node = NodeProcess(
            tmp_path / "node",
            port=11112,
            destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": pacs.address, "port": 4242}],
            extra={
                "node": {"host": serve.address, "data_dir": str(shared)},
                "database": {"url": db_url},
                "broker": {"url": f"redis://{broker.address}:6379/0"},
                "web": {"host": serve.address, "port": 8080},
            },
        )
        config = str(node.write_config())
        spinenode = [sys.executable, "-m", "node"]
        # all at once on an empty database: the migration lock makes the others wait
        serve.popen([*spinenode, "serve", "--no-worker", "--config", config], logs / "serve.log")
        workers = {
            h.name: h.popen([*spinenode, "worker", "--concurrency", "1", "--config", config], logs / f"{n}.log")
            for n, h in (("w1", w1), ("w2", w2))
        }
        serve.wait_port(serve.address, 11112, timeout=90)
        sql = Sql(db)
        _until(lambda: len(sql.rows("SELECT worker FROM worker_heartbeat")) == 2, 90, "both workers beating")
        host_of = {f"{os.uname().nodename}:{workers[h.name].pid}": h for h in (w1, w2)}

        studies = [write_phantom(tmp_path / f"study{i}", "simple", seed=i) for i in range(5)]
        analysing = "SELECT id, worker FROM job WHERE state = 'running' AND step NOT IN ('claimed')"

        # 0. cut the link of a worker in the middle of a job for less than GONE_AFTER: it finishes the job
        _send(pacs, serve, studies[0])
        ((short_job, short_worker),) = _until(lambda: sql.rows(analysing), 180, "the job analysing", interval=0.2)
        short_cut_at = host_of[short_worker].cut()
        time.sleep(CUT_SHORT_SECONDS)
        host_of[short_worker].restore()
        _until(lambda: sql.rows("SELECT 1 FROM study WHERE state = 'delivered'"), 180, "the first study delivered")
        short_delivered = time.monotonic() - short_cut_at
        ((short_state, short_attempts),) = sql.rows(f"SELECT state, attempts FROM job WHERE id = {short_job}")
        assert short_state == "done"
        if short_attempts != "1":  # the cut hit a registry write: the task ended, the job ran again at once
            assert (
                short_attempts == "2"
                and "OperationalError" in (logs / f"{host_of[short_worker].name[-2:]}.log").read_text()
            )

        for study in studies[1:3]:
            _send(pacs, serve, study)

        # 1. cut the link of a worker in the middle of a job, for longer than GONE_AFTER
        running = _until(lambda: sql.rows(analysing), 180, "a job analysing", interval=0.2)
        job_id, victim_id = running[0]
        victim = host_of[victim_id]
        cut_at = victim.cut()
        taken = _until(
            lambda: sql.rows(f"SELECT worker FROM job WHERE id = {job_id} AND worker <> '{victim_id}'"),
            CUT_WORKER_SECONDS + 60,
            "the job taken over by the other worker",
        )
        takeover = time.monotonic() - cut_at
        assert taken
        time.sleep(max(0.0, CUT_WORKER_SECONDS - (time.monotonic() - cut_at)))
        restored_at = victim.restore()
        _until(
            lambda: [r for r in sql.rows("SELECT state FROM study") if r[0] != "delivered"] == [] or None,
            240,
            "the next two studies delivered",
        )
        first_delivered = time.monotonic() - cut_at
        age = (
            "SELECT extract(epoch FROM (now() AT TIME ZONE 'utc') - last_seen_at) FROM worker_heartbeat "
            f"WHERE worker = '{victim_id}'"
        )
        _until(lambda: float(sql.rows(age)[0][0]) < 5, 120, "the cut worker beating again")
        rejoined = time.monotonic() - restored_at
        victim_log = (logs / f"{victim.name.rsplit('-', 1)[-1]}.log").read_text()
        late = (
            "refused by the registry" if "outcome is discarded" in victim_log else "lost with its registry connection"
        )

        # 2. cut the broker's link while two more studies arrive; the node keeps receiving
        broker_cut_at = broker.cut()
        for study in studies[3:]:
            _send(pacs, serve, study)
        time.sleep(max(0.0, CUT_BROKER_SECONDS - (time.monotonic() - broker_cut_at)))
        broker_back_at = broker.restore()
        claimed = "SELECT count(*) FROM job WHERE started_at IS NOT NULL"
        _until(lambda: sql.rows(claimed)[0][0] == "5", 120, "the new jobs claimed", interval=0.2)
        broker_claims = time.monotonic() - broker_back_at
        _until(
            lambda: len([r for r in sql.rows("SELECT state FROM study") if r[0] == "delivered"]) == 5 or None,
            300,
            "all five studies delivered after the broker is back",
        )
        broker_recovery = time.monotonic() - broker_back_at
        unacked = ["redis-cli", "-h", broker.address, "hlen", "unacked"]
        _until(lambda: broker.run(unacked).stdout.strip() == "0", 60, "no unacknowledged message left in Redis")

        print(
            f"\nworker link cut for {CUT_SHORT_SECONDS:.0f} s mid-job: claimed {short_attempts} time(s), study "
            f"delivered {short_delivered:.1f} s after the cut"
        )
        print(
            f"worker link cut: job {job_id} taken over {takeover:.1f} s after the cut (GONE_AFTER "
            f"{GONE_AFTER.total_seconds():.0f} s); both studies delivered {first_delivered:.1f} s after the cut; "
            f"the cut worker beat again {rejoined:.1f} s after its link came back; its late outcome was {late}"
        )
        print(
            f"broker link cut for {CUT_BROKER_SECONDS:.0f} s: the two studies received meanwhile were claimed by "
            f"the workers {broker_claims:.1f} s and delivered {broker_recovery:.1f} s after the link came back"
        )

        # what an operator sees: both workers alive, idle, nothing waiting
        seen = serve.run([*spinenode, "studies", "--workers", "--json", "--config", config])
        assert seen.returncode == 0, seen.stderr
        view = json.loads(seen.stdout)
        assert sorted(w["status"] for w in view["workers"]) == ["alive", "alive"], view
        assert view["waiting"] == {"analysis": 0, "delivery": 0}
        table = serve.run([*spinenode, "studies", "--config", config]).stdout
        assert table.count("delivered") >= 4 and "workers seen in the last 24 h: 2" in table
        metrics = serve.run(["curl", "-sf", f"http://{serve.address}:8080/metrics"]).stdout
        assert 'spinenode_workers{status="alive"} 2.0' in metrics

        # every study delivered exactly once, every job to one outcome
        uids = {s.study_instance_uid for s in studies}
        assert {r[0] for r in sql.rows("SELECT study_uid FROM study WHERE state = 'delivered'")} == uids
        deliveries = sql.rows(
            "SELECT d.study_id, d.state, count(a.id) FILTER (WHERE a.ok) FROM delivery d "
            "LEFT JOIN attempt a ON a.delivery_id = d.id GROUP BY d.id, d.study_id, d.state"
        )
        assert sorted(r[1:] for r in deliveries) == [["delivered", "1"]] * 5, deliveries
        jobs = {r[0]: r[1:] for r in sql.rows("SELECT id, state, attempts FROM job")}
        assert all(state == "done" for state, _ in jobs.values()), jobs
        assert jobs.pop(job_id) == ["done", "2"], "the job taken over: claimed twice"
        jobs.pop(short_job)
        assert all(attempts == "1" for _, attempts in jobs.values()), f"no other job ran twice: {jobs}"
        results = sql.rows("SELECT study_id, kind, count(*) FROM result GROUP BY study_id, kind")
        assert all(r[2] == "1" for r in results), f"one object of each kind per study: {results}"
        kinds = {(r[0], r[1]) for r in results}
        assert {k for k in kinds if k[1] in ("SR", "SC")} == {(r[0], k) for r in results for k in ("SR", "SC")}
        assert {s["MainDicomTags"]["StudyInstanceUID"] for s in _pacs_get(pacs, "/studies?expand")} == uids
        stats = _pacs_get(pacs, "/statistics")
        assert int(stats["CountInstances"]) == len(results), "one SR, one card (and its SEG) per study, nothing else"
    finally:
        net.close()
        shutil.rmtree(pg_dir, ignore_errors=True)
