"""The registry's listing of studies and workers, read with plain SQL over a DB-API connection.

This is the one reader of these rows: ``spinenode studies`` runs it on a connection of the driver itself
(sqlite3 or psycopg, :mod:`node.registry.dbapi`), without SQLAlchemy, and the web app and the other commands
run it on the connection of their ORM session (:mod:`node.registry.views`, :mod:`node.broker.workers`).
SQLAlchemy costs a command about half a second to import; the queries below are those the ORM sent. The
table and column names are those of :mod:`node.registry.models` (a test runs both paths on SQLite and
PostgreSQL and compares them). Values come back as each driver gives them: SQLite has times and JSON as
text, psycopg as Python objects; :func:`_time` and :func:`_json` make them one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

GONE_AFTER = timedelta(seconds=30)
"""A worker silent this long, while another one kept beating, is taken for gone: its jobs run elsewhere."""
SHOWN_FOR = timedelta(hours=24)
"""Workers seen within this time are listed (stopped ones too, so a worker that vanished stays visible)."""

_STUDY_COLUMNS = (
    "id, study_uid, state, reason, revision, priority, patient_key, study_date, study_description, calling_aet, "
    "flags, grades, first_received_at, last_received_at, reported_at, delivered_at, "
    "patient_name, patient_id, accession_number"
)


def iso_time(value: datetime | None) -> str | None:
    """The registry's one time format for people and JSON: ISO 8601 to the second, or None."""
    return value.isoformat(timespec="seconds") if value is not None else None


def _at(value: Any) -> datetime:
    """A time as a naive UTC datetime: SQLite holds the text SQLAlchemy wrote, psycopg gives datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _time(value: Any) -> datetime | None:
    """A time column that may be empty."""
    return None if value is None else _at(value)


def _json(value: Any) -> Any:
    """A JSON column as Python: SQLite holds its text, psycopg decodes it (every such column holds a list or
    an object, so text here is always undecoded JSON)."""
    return json.loads(value) if isinstance(value, str) else value


def _rows(connection: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` placeholders) on a DB-API connection of sqlite3 or psycopg (``%s`` placeholders)."""
    if not type(connection).__module__.startswith("sqlite3"):
        sql = sql.replace("?", "%s")
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def _in(ids: Sequence[int]) -> str:
    return ", ".join("?" for _ in ids)


def _by_study(rows: Iterable[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    out: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row[1:])
    return out


def study_rows(connection: Any, where: str, params: Sequence[Any] = (), *, with_phi: bool = False) -> list[dict]:
    """The listing row of each study selected by ``where`` (SQL after ``FROM study``: a condition, an order,
    a limit), in that order."""
    studies = _rows(connection, f"SELECT {_STUDY_COLUMNS} FROM study {where}", params)
    ids = [s[0] for s in studies]
    if not ids:
        return []
    marks = _in(ids)
    series = dict(
        _rows(connection, f"SELECT study_id, count(id) FROM series WHERE study_id IN ({marks}) GROUP BY study_id", ids)
    )
    instances = dict(
        _rows(
            connection,
            "SELECT series.study_id, count(instance.id) FROM instance JOIN series ON series.id = instance.series_id "
            f"WHERE series.study_id IN ({marks}) GROUP BY series.study_id",
            ids,
        )
    )
    deliveries = _by_study(
        _rows(
            connection,
            "SELECT study_id, id, destination, kind, revision, state, last_error, next_attempt_at, "
            "(SELECT count(attempt.id) FROM attempt WHERE attempt.delivery_id = delivery.id) "
            f"FROM delivery WHERE study_id IN ({marks}) ORDER BY id",
            ids,
        )
    )
    jobs = _by_study(
        _rows(
            connection,
            f"SELECT study_id, id, state, step, error FROM job WHERE study_id IN ({marks}) ORDER BY id DESC",
            ids,
        )
    )
    reports = _by_study(  # the latest revision's SR first
        _rows(
            connection,
            f"SELECT study_id, summary FROM result WHERE kind = 'SR' AND study_id IN ({marks}) ORDER BY revision DESC",
            ids,
        )
    )
    out = []
    for s in studies:
        sid = s[0]
        report = reports.get(sid)
        qc = list(((_json(report[0][0]) or {}).get("qc") or []) if report else [])
        job = jobs.get(sid, [None])[0]
        row: dict[str, Any] = {
            "study_uid": s[1],
            "state": s[2],
            "reason": s[3],
            "revision": s[4],
            "priority": s[5],
            "patient_key": s[6],
            "study_date": s[7],
            "description": s[8],
            "calling_aet": s[9],
            "series": int(series.get(sid, 0)),
            "instances": int(instances.get(sid, 0)),
            "flags": list(_json(s[10]) or []),
            "grades": dict(_json(s[11]) or {}),
            "qc": qc,  # the verdict of every analyser output (latest report): only "ok" outputs are graded
            "not_graded": sum(1 for v in qc if v.get("status") != "ok"),
            "received_at": iso_time(_time(s[12])),
            "last_received_at": iso_time(_time(s[13])),
            "reported_at": iso_time(_time(s[14])),
            "delivered_at": iso_time(_time(s[15])),
            "job": {"id": job[0], "state": job[1], "step": job[2], "error": job[3]} if job else None,
            "deliveries": [
                {
                    "id": d[0],
                    "destination": d[1],
                    "kind": d[2],
                    "revision": d[3],
                    "state": d[4],
                    "attempts": int(d[7]),
                    "last_error": d[5],
                    "next_attempt_at": iso_time(_time(d[6])) if d[4] == "pending" else None,
                }
                for d in deliveries.get(sid, [])
            ],
        }
        if with_phi:
            row["patient_name"] = s[16]
            row["patient_id"] = s[17]
            row["accession_number"] = s[18]
        out.append(row)
    return out


def list_studies(connection: Any, *, with_phi: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    """The newest ``limit`` studies, most recently first received first."""
    return study_rows(connection, "ORDER BY first_received_at DESC LIMIT ?", (limit,), with_phi=with_phi)


@dataclass(frozen=True)
class RunningJob:
    job_id: int
    study_id: int
    step: str | None
    seconds: float


@dataclass(frozen=True)
class WorkerSeen:
    worker: str
    hostname: str
    queues: str
    started_at: datetime
    last_seen_at: datetime
    silent_seconds: float
    status: str  # alive | gone | stopped
    running: list[RunningJob] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "hostname": self.hostname,
            "queues": self.queues.split(","),
            "status": self.status,
            "last_seen_seconds_ago": round(self.silent_seconds, 1),
            "started_at": iso_time(self.started_at),
            "running": [{"job": r.job_id, "step": r.step, "seconds": round(r.seconds)} for r in self.running],
        }


def worker_status(stopped_at: datetime | None, last_seen_at: datetime, now: datetime) -> str:
    if stopped_at is not None:
        return "stopped"
    return "gone" if now - last_seen_at > GONE_AFTER else "alive"


def workers_seen(connection: Any, now: datetime) -> list[WorkerSeen]:
    """Workers seen within ``SHOWN_FOR``, most recently seen first, with the jobs each is running. Few rows:
    the times are compared here, where both drivers' values are datetimes."""
    beats = [
        (worker, hostname, queues, _at(started), _at(seen), _time(stopped))
        for worker, hostname, queues, started, seen, stopped in _rows(
            connection, "SELECT worker, hostname, queues, started_at, last_seen_at, stopped_at FROM worker_heartbeat"
        )
    ]
    running: dict[str, list[RunningJob]] = {}
    for job_id, study_id, step, worker, started in _rows(
        connection, "SELECT id, study_id, step, worker, started_at FROM job WHERE state = 'running' ORDER BY id"
    ):
        at = _time(started)
        seconds = (now - at).total_seconds() if at else 0.0
        running.setdefault(worker or "", []).append(RunningJob(job_id, study_id, step, seconds))
    shown = sorted((b for b in beats if b[4] >= now - SHOWN_FOR), key=lambda b: b[4], reverse=True)
    return [
        WorkerSeen(
            worker=worker,
            hostname=hostname,
            queues=queues,
            started_at=started,
            last_seen_at=seen,
            silent_seconds=max(0.0, (now - seen).total_seconds()),
            status=worker_status(stopped, seen, now),
            running=running.get(worker, []),
        )
        for worker, hostname, queues, started, seen, stopped in shown
    ]


def queue_waiting(connection: Any, now: datetime) -> dict[str, int]:
    """Work the registry says waits for any worker, by queue: queued jobs and due pending deliveries."""
    ((jobs,),) = _rows(connection, "SELECT count(id) FROM job WHERE state = 'queued'")
    due = _rows(connection, "SELECT next_attempt_at FROM delivery WHERE state = 'pending'")
    deliveries = sum(1 for (at,) in due if (t := _time(at)) is not None and t <= now)
    return {"analysis": int(jobs), "delivery": deliveries}


def format_workers(seen: list[WorkerSeen], waiting: dict[str, int]) -> str:
    """The workers block of ``spinenode studies``: one line per worker, then what waits for any of them."""
    lines = ["workers seen in the last 24 h: " + (f"{len(seen)}" if seen else "none")]
    for w in seen:
        when = (
            f"seen {w.silent_seconds:.0f} s ago"
            if w.status == "alive"
            else f"silent for {w.silent_seconds:.0f} s"
            if w.status == "gone"
            else f"stopped {w.silent_seconds:.0f} s ago"
        )
        jobs = "; ".join(f"job {r.job_id} at {r.step or 'start'} for {r.seconds:.0f} s" for r in w.running)
        doing = f"running {jobs}" if jobs else "idle"
        if w.status == "gone" and w.running:
            doing += " (will run on another worker)"
        lines.append(f"  {w.status:<8} {w.worker:<32} {w.queues:<20} {when:<22} {doing}")
    lines.append("waiting for any worker: " + ", ".join(f"{q} {n}" for q, n in waiting.items()))
    return "\n".join(lines)
