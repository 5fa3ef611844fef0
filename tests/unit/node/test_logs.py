"""The node's log handler: text or JSON lines, the IDs of the work on every line, libraries through it."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import signals

from node import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    yield out
    if logs._handler is not None:
        root.removeHandler(logs._handler)
        logs._handler = None
    root.handlers[:], root.level = before
    logs._requested.clear()
    logging.captureWarnings(False)


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_json_lines_carry_the_ids(stream: io.StringIO) -> None:
    logs.request(fmt="json")
    logs.configure(stream=stream)
    with logs.log_context(study="1.2.840.99.1", job=7):
        logging.getLogger("node.test").info("analysed %d series", 3, extra={"seconds": 1.5})
    logging.getLogger("node.test").warning("outside")
    first, second = (json.loads(line) for line in _lines(stream))
    assert first["message"] == "analysed 3 series" and first["level"] == "info" and first["logger"] == "node.test"
    assert (first["study"], first["job"], first["seconds"]) == ("1.2.840.99.1", 7, 1.5)
    assert first["time"].endswith("+00:00")
    assert "study" not in second and "job" not in second


def test_text_lines_carry_the_ids_before_a_traceback(stream: io.StringIO) -> None:
    logs.configure(stream=stream)
    with logs.log_context(delivery=12):
        try:
            raise RuntimeError("peer went away")
        except RuntimeError:
            logging.getLogger("node.delivery").exception("delivery failed")
    lines = _lines(stream)
    assert lines[0].endswith("ERROR node.delivery: delivery failed [delivery=12]")
    assert lines[-1] == "RuntimeError: peer went away"


def test_level_from_the_command_line_wins(stream: io.StringIO) -> None:
    logs.request(level="warning")
    logs.configure(logging.DEBUG, stream=stream)
    logging.getLogger("node.x").info("hidden")
    logging.getLogger("node.x").warning("shown")
    assert [line.rsplit(": ", 1)[1] for line in _lines(stream)] == ["shown"]


def test_uvicorn_and_celery_loggers_come_out_the_same_way(stream: io.StringIO) -> None:
    logs.request(fmt="json")
    logs.configure(stream=stream)
    logging.getLogger("uvicorn.error").error("port in use")
    logging.getLogger("celery.worker").error("worker lost")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # pytest replaced the hook configure() set; set it again inside
        warnings.warn("running as root", UserWarning, stacklevel=1)
    loggers = [json.loads(line)["logger"] for line in _lines(stream)]
    assert loggers == ["uvicorn.error", "celery.worker", "py.warnings"]
    # Celery sees a receiver for setup_logging, so it leaves the root logger alone
    assert signals.setup_logging.receivers


def test_a_celery_task_s_lines_carry_its_job(stream: io.StringIO) -> None:
    logs.request(fmt="json")
    logs.configure(stream=stream)

    class Task:
        name = "workers.tasks.analyse_study"

    signals.task_prerun.send(sender=Task, task_id="t-1", task=Task(), args=(42,), kwargs={})
    logging.getLogger("workers.tasks").info("analysing")
    signals.task_postrun.send(sender=Task, task_id="t-1", task=Task(), args=(42,), kwargs={})
    logging.getLogger("workers.tasks").info("idle")
    during, after = (json.loads(line) for line in _lines(stream))
    assert (during["job"], during["task"]) == (42, "analyse_study")
    assert "job" not in after


def test_filters_attached_see_every_record(stream: io.StringIO) -> None:
    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = str(record.msg).replace("YAMADA^TARO", "***")
            return True

    redact = Redact()
    logs.configure(stream=stream)
    logs.add_filter(redact)
    try:
        logging.getLogger("pynetdicom.events").warning("patient YAMADA^TARO")
        logs.configure(stream=stream)  # a second configure keeps it
        logging.getLogger("node.x").warning("again YAMADA^TARO")
    finally:
        logs._filters.remove(redact)
    assert all("YAMADA" not in line and "***" in line for line in _lines(stream))


def test_unknown_level_is_refused() -> None:
    logs.request(level="loud")
    try:
        with pytest.raises(ValueError, match="expected one of"):
            logs.configure()
    finally:
        logs._requested.clear()


def test_serve_writes_only_json_lines(tmp_path: Path) -> None:
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
        "SPINENODE_NODE__PORT": str(ports[0]),
        "SPINENODE_WEB__PORT": str(ports[1]),
        "SPINENODE_NODE__DATA_DIR": str(tmp_path / "var"),
    }
    env.pop("SPINENODE_CONFIG", None)
    node = subprocess.Popen(
        [sys.executable, "-m", "node", "serve", "--no-worker", "--log-format", "json", "--log-level", "debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert node.stdout is not None
        assert "listening on" in node.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        node.send_signal(signal.SIGTERM)
        _, err = node.communicate(timeout=60)
    entries = [json.loads(line) for line in err.splitlines()]  # every line is JSON (uvicorn's and Celery's too)
    assert any(e["logger"] == "node.serve" and e["message"] == "stopping" for e in entries)
    assert any(e["logger"].startswith("uvicorn") for e in entries), {e["logger"] for e in entries}


def test_a_task_s_lines_name_its_study_from_the_registry(stream: io.StringIO, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from node.commands.common import log_studies_of_tasks
    from node.registry.db import Registry
    from node.registry.models import Job, Study

    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    with registry.session() as session:
        study = Study(study_uid="1.2.826.0.1.3680043.8.498.1")
        session.add(study)
        session.flush()
        job = Job(study_id=study.id, revision=1)
        session.add(job)
        session.commit()
        job_id = job.id
    log_studies_of_tasks(SimpleNamespace(registry=registry))
    logs.request(fmt="json")
    logs.configure(stream=stream)

    class Task:
        name = "workers.tasks.analyse_study"

    try:
        signals.task_prerun.send(sender=Task, task_id="t-2", task=Task(), args=(job_id,), kwargs={})
        logging.getLogger("workers.tasks").info("analysing")
        signals.task_postrun.send(sender=Task, task_id="t-2", task=Task(), args=(job_id,), kwargs={})
    finally:
        logs._study_lookup.clear()
    (entry,) = (json.loads(line) for line in _lines(stream))
    assert (entry["job"], entry["study"]) == (job_id, "1.2.826.0.1.3680043.8.498.1")


def test_a_value_remembered_again_refreshes_its_tokens_without_parsing_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every instance of a study names its patient: the second time, the value's tokens come from the
    memo, and they are refreshed as the oldest are forgotten, as they were when each time was parsed."""
    from node.logs import phi

    monkeypatch.setattr(phi, "MAX_REMEMBERED", 4)
    remembered = phi._Remembered()
    remembered.add("ALPHA^BRAVO")
    for value in ("charlie", "delta"):
        remembered.add(value)
    findall = phi._TOKEN.findall
    calls: list[str] = []
    monkeypatch.setattr(
        phi, "_TOKEN", type("Counting", (), {"findall": lambda self, v: calls.append(v) or findall(v)})()
    )
    remembered.add("ALPHA^BRAVO")  # memo: no parsing; alpha and bravo now the newest
    assert calls == []
    remembered.add("echo")
    remembered.add("foxtrot")
    assert calls == ["echo", "foxtrot"]
    assert "alpha" in remembered and "BRAVO" in remembered
    assert "charlie" not in remembered and "delta" not in remembered
