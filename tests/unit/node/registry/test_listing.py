"""The listing of studies and workers read through the database driver itself (``spinenode studies``) is the
listing read through the ORM session (the web app), on SQLite and PostgreSQL; and it says what the rows hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from postgres import registry_on
from sqlalchemy.engine import make_url

from node.broker import workers
from node.registry import dbapi, listing, views
from node.registry.db import Registry
from node.registry.models import (
    Attempt,
    Delivery,
    DeliveryState,
    Instance,
    Job,
    JobState,
    Result,
    ResultKind,
    Series,
    Study,
    StudyState,
    WorkerHeartbeat,
)

NOW = datetime(2026, 12, 2, 3, 0, 0)
QC_REV1 = [{"analyser": "cord", "series_uid": "1.9", "status": "ok"}]
QC_REV2 = [{"analyser": "cord", "series_uid": "1.9", "status": "unreliable"}, {"analyser": "levels", "status": "ok"}]


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    with registry_on(request.param, tmp_path, skip_if_absent=True) as reg:
        seed(reg)
        yield reg


def seed(registry: Registry) -> None:
    with registry.session() as s:
        reported = Study(
            study_uid="1.1",
            state=StudyState.REPORTED,
            revision=2,
            patient_name="DOE^JANE",
            patient_id="PID-1",
            accession_number="ACC-1",
            patient_key="k" * 16,
            study_date="20261201",
            study_description="MR spine",
            calling_aet="MODALITY",
            flags=["possible leak at T1"],
            grades={"csf_leak": "DEFINITE", "ich": "NONE"},
            first_received_at=NOW - timedelta(hours=3, microseconds=250),
            last_received_at=NOW - timedelta(hours=2),
            reported_at=NOW - timedelta(hours=1),
        )
        failed = Study(study_uid="1.2", state=StudyState.FAILED, reason="no axial T2", first_received_at=NOW)
        empty = Study(study_uid="1.3", first_received_at=NOW - timedelta(days=1))
        s.add_all([reported, failed, empty])
        s.flush()
        for n, count in ((1, 2), (2, 1)):
            series = Series(study_id=reported.id, series_uid=f"1.1.{n}")
            s.add(series)
            s.flush()
            for i in range(count):
                s.add(
                    Instance(
                        series_id=series.id,
                        sop_instance_uid=f"1.1.{n}.{i}",
                        sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
                        transfer_syntax_uid="1.2.840.10008.1.2.1",
                        path=f"/spool/{n}/{i}",
                    )
                )
        s.add(Job(study_id=reported.id, revision=1, state=JobState.DONE, attempts=1))
        s.add(
            Job(
                study_id=reported.id,
                revision=2,
                state=JobState.RUNNING,
                attempts=1,
                step="analysers",
                worker="host-a:11",
                started_at=NOW - timedelta(seconds=42),
            )
        )
        s.add(Job(study_id=failed.id, revision=1, state=JobState.QUEUED))
        for rev, qc in ((1, QC_REV1), (2, QC_REV2)):
            s.add(
                Result(
                    study_id=reported.id,
                    revision=rev,
                    kind=ResultKind.SR,
                    sop_class_uid="1.2.840.10008.5.1.4.1.1.88.34",
                    sop_instance_uid=f"1.1.99.{rev}",
                    series_uid="1.1.99",
                    path=f"/results/{rev}.dcm",
                    summary={"qc": qc},
                )
            )
        s.flush()
        due = Delivery.of_results(reported.id, 2, "pacs", [1])
        due.next_attempt_at = NOW - timedelta(minutes=1)
        later = Delivery.of_originals(reported.id, 2, "archive", ["/spool/1/0"])
        later.next_attempt_at = NOW + timedelta(hours=1)
        done = Delivery.of_results(reported.id, 1, "pacs", [1])
        done.state = DeliveryState.DELIVERED
        s.add_all([due, later, done])
        s.flush()
        for ok in (False, False):
            s.add(Attempt(delivery_id=due.id, ok=ok, detail="refused"))
        s.add(Attempt(delivery_id=done.id, ok=True, detail="sent"))
        for name, ago, stopped in (("host-a:11", 3, False), ("host-b:12", 40, False), ("host-c:13", 9, True)):
            at = NOW - timedelta(seconds=ago)
            host, _, pid = name.partition(":")
            s.add(
                WorkerHeartbeat(
                    worker=name,
                    hostname=host,
                    pid=int(pid),
                    queues="analysis,delivery",
                    started_at=at - timedelta(minutes=5),
                    last_seen_at=at,
                    stopped_at=at if stopped else None,
                )
            )
        old = NOW - timedelta(days=2)
        s.add(WorkerHeartbeat(worker="host-d:14", hostname="host-d", pid=14, queues="analysis", last_seen_at=old))


def through_orm(registry: Registry, *, with_phi: bool) -> tuple[list[dict], list[dict], dict[str, int]]:
    with registry.session() as session:
        rows = views.list_studies(session, with_phi=with_phi)
        seen = [w.as_dict() for w in workers.workers_seen(session, NOW)]
        waiting = listing.queue_waiting(views.driver_connection(session), NOW)
    return rows, seen, waiting


def through_driver(registry: Registry, *, with_phi: bool) -> tuple[list[dict], list[dict], dict[str, int]]:
    url = registry.engine.url.render_as_string(hide_password=False)
    with dbapi.reading(url) as connection:
        assert type(connection).__module__.split(".")[0] in ("sqlite3", "psycopg")  # not SQLAlchemy's
        rows = listing.list_studies(connection, with_phi=with_phi)
        seen = [w.as_dict() for w in listing.workers_seen(connection, NOW)]
        waiting = listing.queue_waiting(connection, NOW)
    return rows, seen, waiting


@pytest.mark.parametrize("with_phi", [False, True])
def test_the_driver_and_the_orm_session_read_the_same_listing(registry: Registry, with_phi: bool) -> None:
    assert through_driver(registry, with_phi=with_phi) == through_orm(registry, with_phi=with_phi)


def test_the_listing_says_what_the_rows_hold(registry: Registry) -> None:
    rows, seen, waiting = through_driver(registry, with_phi=True)
    assert [r["study_uid"] for r in rows] == ["1.2", "1.1", "1.3"]  # most recently received first
    failed, reported, empty = rows
    assert failed["reason"] == "no axial T2"
    assert failed["job"]["state"] == "queued"
    assert empty["series"] == 0 and empty["instances"] == 0 and empty["job"] is None and empty["deliveries"] == []
    assert empty["flags"] == [] and empty["grades"] == {} and empty["qc"] == []
    assert (reported["series"], reported["instances"], reported["revision"]) == (2, 3, 2)
    assert reported["state"] == "reported" and reported["priority"] == "routine"
    assert reported["flags"] == ["possible leak at T1"]
    assert reported["grades"] == {"csf_leak": "DEFINITE", "ich": "NONE"}
    assert reported["qc"] == QC_REV2 and reported["not_graded"] == 1  # the latest revision's SR
    assert reported["job"]["state"] == "running" and reported["job"]["step"] == "analysers"
    assert reported["received_at"] == (NOW - timedelta(hours=3, microseconds=250)).isoformat(timespec="seconds")
    assert reported["patient_id"] == "PID-1" and reported["accession_number"] == "ACC-1"
    by_destination = {(d["destination"], d["revision"]): d for d in reported["deliveries"]}
    assert by_destination["pacs", 2]["attempts"] == 2
    assert by_destination["pacs", 2]["next_attempt_at"] == (NOW - timedelta(minutes=1)).isoformat()
    assert by_destination["pacs", 1]["state"] == "delivered" and by_destination["pacs", 1]["next_attempt_at"] is None
    assert by_destination["archive", 2]["kind"] == "originals"
    assert [(w["worker"], w["status"]) for w in seen] == [
        ("host-a:11", "alive"),
        ("host-c:13", "stopped"),
        ("host-b:12", "gone"),
    ]
    assert seen[0]["running"] == [{"job": reported["job"]["id"], "step": "analysers", "seconds": 42}]
    assert waiting == {"analysis": 1, "delivery": 1}  # the archive delivery is not due yet


def test_a_registry_never_migrated_is_migrated_then_read(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    db.touch()
    with dbapi.reading(f"sqlite:///{db}") as connection:
        assert listing.list_studies(connection) == []
    with dbapi.reading(f"sqlite:///{db}") as connection:
        assert type(connection).__module__ == "sqlite3"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://spinenode:s3cr%40t@db.example:5433/registry",
        "postgresql://postgres@127.0.0.1/postgres",
        "sqlite:////var/lib/spinenode/spinenode.sqlite",
    ],
)
def test_the_password_is_hidden_as_sqlalchemy_hides_it(url: str) -> None:
    assert dbapi.hide_password(url) == make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////abs/r.sqlite", "/abs/r.sqlite"),
        ("sqlite:///var/r.sqlite", "var/r.sqlite"),
        ("sqlite+pysqlite:////abs/r.sqlite", "/abs/r.sqlite"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://h/db", None),
    ],
)
def test_the_sqlite_file_of_a_url(url: str, path: str | None) -> None:
    assert dbapi.sqlite_path(url) == path
    if path is not None:
        assert make_url(url).database == path
