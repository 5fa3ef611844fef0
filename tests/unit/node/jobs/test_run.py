"""The job runner on a real SQLite registry and kombu's filesystem broker: a phantom study is received,
made stable, and one ``run_job`` claims it, runs the selected steps, saves the report and hands the
deliveries to the broker. Failures, superseded revisions and routing to no pipeline are recorded."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from jobs_support import make_runtime, receive
from pydicom import dcmread
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from node.broker.liveness import current_worker
from node.broker.reconciler import jobs_to_send
from node.broker.workers import Heartbeat
from node.jobs.run import run_job, step_times
from node.registry.db import out_of_reach
from node.registry.models import Delivery, Job, JobState, Result, Study, StudyState

PACS = {"name": "pacs", "ae_title": "PACS", "host": "127.0.0.1", "port": 4242}
ARCHIVE = {"name": "research", "ae_title": "RESEARCH", "host": "127.0.0.1", "port": 4243}


def _rules(**then: object) -> dict[str, object]:
    return {"rules": [{"name": "test rule", "then": then}]}


def test_one_run_reports_the_study_and_hands_its_deliveries_to_the_broker(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]]
) -> None:
    study_uid, files = phantom
    rt = make_runtime(
        tmp_path,
        destinations=[PACS, ARCHIVE],
        routing=_rules(pipelines=["inventory"], forward_to=["research"], results_to=["pacs"]),
    )
    job_id = receive(rt, files)

    assert run_job(job_id, rt) == "done"

    with rt.registry.session() as session:
        study = session.scalar(select(Study).where(Study.study_uid == study_uid))
        assert study is not None and study.state == StudyState.REPORTED and study.reported_at is not None
        job = session.get(Job, job_id)
        assert job is not None and (job.state, job.step, job.attempts) == (JobState.DONE, "done", 1)
        results = session.scalars(select(Result).where(Result.study_id == study.id).order_by(Result.id)).all()
        assert [r.kind for r in results] == ["SR", "SC"]
        for r in results:
            assert str(dcmread(r.path, stop_before_pixels=True).SOPInstanceUID) == r.sop_instance_uid
        deliveries = {d.destination: d for d in session.scalars(select(Delivery))}
        assert set(deliveries) == {"pacs", "research"}
        assert deliveries["pacs"].kind == "results" and deliveries["pacs"].result_ids == [r.id for r in results]
        assert deliveries["research"].kind == "originals"
        assert sorted(deliveries["research"].original_paths) == sorted(str(f) for f in files)
        assert all(d.enqueued_at is not None for d in deliveries.values())
    assert len(list(broker.iterdir())) == 2  # one message per delivery, on the filesystem broker


def test_a_second_run_of_the_same_job_is_skipped(tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]]) -> None:
    rt = make_runtime(tmp_path, routing=_rules(pipelines=["inventory"]))
    job_id = receive(rt, phantom[1])
    assert run_job(job_id, rt) == "done"
    assert run_job(job_id, rt) == "skipped"
    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.attempts == 1


def test_routing_to_no_pipeline_finishes_without_a_report(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]]
) -> None:
    rt = make_runtime(tmp_path, destinations=[PACS], routing=_rules(priority="urgent"))
    job_id = receive(rt, phantom[1])

    assert run_job(job_id, rt) == "no pipeline"

    with rt.registry.session() as session:
        study = session.scalars(select(Study)).one()
        assert (study.state, study.priority, study.reason) == (
            StudyState.REPORTED,
            "urgent",
            "routing selected no pipeline",
        )
        assert session.scalars(select(Result)).all() == []
        assert session.scalars(select(Delivery)).all() == []


def test_a_failing_job_records_the_step_and_fails_the_study(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]]
) -> None:
    rt = make_runtime(tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    copies = []
    for f in phantom[1]:
        copy = spool / f.name
        copy.write_bytes(f.read_bytes())
        copies.append(copy)
    job_id = receive(rt, copies)
    for copy in copies:  # the inventory cannot read the study (one bad instance alone is left out)
        copy.unlink(missing_ok=True)

    assert run_job(job_id, rt) == "failed"

    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == JobState.FAILED and "FileNotFoundError" in (job.error or "")
        study = session.scalars(select(Study)).one()
        assert study.state == StudyState.FAILED
        assert (study.reason or "").startswith("analysis failed at step inventory: FileNotFoundError")


def test_a_job_of_an_outdated_revision_is_superseded(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]]
) -> None:
    rt = make_runtime(tmp_path)
    job_id = receive(rt, phantom[1])
    with rt.registry.session() as session:
        session.scalars(select(Study)).one().revision += 1  # findings entered meanwhile

    assert run_job(job_id, rt) == "skipped"

    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == JobState.SUPERSEDED and job.finished_at is not None


def test_routing_rules_are_built_once_per_process(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[[rules]]\nname = "all"\nthen.pipelines = ["inventory"]\n')
    rt = make_runtime(tmp_path, routing={"rules_file": str(rules_file)})
    first = rt.rules
    rules_file.write_text("not toml at all [")  # a second read would fail
    assert rt.rules is first
    assert [r.name for r in first.rules] == ["all"]


def test_the_log_line_of_a_job_gives_the_seconds_of_each_step(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]], caplog: pytest.LogCaptureFixture
) -> None:
    rt = make_runtime(tmp_path, routing=_rules(pipelines=["inventory"]))
    job_id = receive(rt, phantom[1])
    with caplog.at_level(logging.INFO, logger="node.jobs.run"):
        assert run_job(job_id, rt) == "done"
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"job {job_id}: done in ")]
    assert len(done) == 1, caplog.text
    match = re.fullmatch(
        rf"job {job_id}: done in ([\d.]+) s \(inventory ([\d.]+) s, results ([\d.]+) s, save ([\d.]+) s\)", done[0]
    )
    assert match is not None, done[0]
    total, *steps = (float(v) for v in match.groups())
    assert total == pytest.approx(sum(steps), abs=0.02) and steps[1] > 0
    with rt.registry.session() as session:
        summary = session.scalars(select(Result.summary).where(Result.kind == "SR")).one()
    assert set(summary["stage_seconds"]) == {"inventory", "results"}  # what /metrics is fed with


def test_step_times_in_words() -> None:
    assert step_times({"inventory": 0.5, "analysis": 2.25}, save=0.1) == (
        "2.85 s (inventory 0.50 s, analysis 2.25 s, save 0.10 s)"
    )


def _unreachable_postgresql() -> OperationalError:
    """A real driver error: PostgreSQL asked on a port where nothing listens (the discard port)."""
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("a connection to port 9 succeeded")


def test_out_of_reach_tells_a_lost_link_from_a_wrong_statement(tmp_path: Path) -> None:
    assert out_of_reach(_unreachable_postgresql())
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(OperationalError) as wrong, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not out_of_reach(wrong.value)
    assert not out_of_reach(ValueError("not a database error"))


def test_a_job_cut_off_from_the_registry_is_left_to_run_again_not_failed(
    tmp_path: Path, broker: Path, phantom: tuple[str, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry write that fails because the server is out of reach (a link cut mid-job) is not the study's
    failure. The cut itself cannot be made in a unit test (tests/integration/test_multihost.py cuts a real
    link); here the job's analysis raises the real driver error of an unreachable PostgreSQL server."""
    rt = make_runtime(tmp_path, routing=_rules(pipelines=["inventory"]))
    job_id = receive(rt, phantom[1])
    lost = _unreachable_postgresql()

    def cut_off(*_args: object) -> None:
        raise lost

    monkeypatch.setattr("node.jobs.run.analyse", cut_off)
    assert run_job(job_id, rt) == "interrupted"
    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.state, job.error) == (JobState.RUNNING, None)
        assert session.scalars(select(Study)).one().state == StudyState.ANALYSING
    time.sleep(0.01)  # the beat after the run comes after the claim
    Heartbeat(rt.registry, current_worker(), "analysis", every=3600).beat()  # the worker beats on, without it
    with rt.registry.session() as session:
        assert jobs_to_send(session) == [job_id]
    monkeypatch.undo()
    assert run_job(job_id, rt) == "done"
    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.state, job.attempts) == (JobState.DONE, 2)
