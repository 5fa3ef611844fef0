"""The node's logging: one handler on the root logger that every library writes through.

``configure()`` installs it (text or JSON lines on standard error, at the level asked for); uvicorn and
Celery are told not to install their own, so their lines come out in the same format. Every line carries
the IDs of what is being worked on — ``study`` (Study Instance UID), ``job``, ``delivery``, ``task`` —
taken from :func:`log_context` and, for Celery tasks, from the task's arguments. Patient names and IDs
never belong in a log line; filters that enforce it are attached with :func:`add_filter` (to the handler,
so they see every record, whichever logger it came from).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
CONTEXT_KEYS = ("study", "job", "delivery", "task")
NOISY = ("pynetdicom", "celery", "kombu", "amqp", "uvicorn.error", "alembic", "PIL", "highdicom", "multipart")

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("spinenode_log_context", default={})  # noqa: B039
_filters: list[logging.Filter] = []
_handler: logging.Handler | None = None
_requested: dict[str, str] = {}
# attributes every LogRecord has: whatever else a record carries came from ``extra=`` and is shown
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", *CONTEXT_KEYS}


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Within the block every log line of this thread (or task) carries these IDs (None values dropped)."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current IDs onto the record (``record.study`` etc.; None when not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _context.get()
        for key in CONTEXT_KEYS:
            if getattr(record, key, None) is None:
                setattr(record, key, current.get(key))
        return True


def _ids(record: logging.LogRecord) -> dict[str, Any]:
    return {key: getattr(record, key) for key in CONTEXT_KEYS if getattr(record, key, None) is not None}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {**_ids(record), **_extras(record)}
        if fields:
            head, sep, tail = line.partition("\n")  # keep a traceback below the first line
            line = head + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" + sep + tail
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the IDs, the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_ids(record),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def request(level: str | None = None, fmt: str | None = None) -> None:
    """What the command line asked for (``--log-level``, ``--log-format``); wins over a command's default."""
    if level:
        _requested["level"] = level
    if fmt:
        _requested["format"] = fmt


def configure(default_level: int | str = logging.INFO, *, stream: TextIO | None = None) -> logging.Handler:
    """Install the one handler on the root logger (again: replaces the previous one)."""
    global _handler
    level_name = _requested.get("level") or os.environ.get("SPINENODE_LOG_LEVEL") or default_level
    fmt = _requested.get("format") or os.environ.get("SPINENODE_LOG_FORMAT") or "text"
    level = logging.getLevelName(level_name.upper()) if isinstance(level_name, str) else level_name
    if not isinstance(level, int) or fmt not in FORMATS:
        raise ValueError(f"log level {level_name!r} / format {fmt!r}: expected one of {LEVELS} / {FORMATS}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    for extra_filter in _filters:
        handler.addFilter(extra_filter)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level)
    _handler = handler
    for name in NOISY:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # "no hostname" for the local broker
    logging.captureWarnings(True)  # Python warnings become log lines in the same format
    _hook_celery()
    return handler


def add_filter(extra_filter: logging.Filter) -> None:
    """Attach a filter to the node's handler, now and after any later :func:`configure` (e.g. PHI)."""
    _filters.append(extra_filter)
    if _handler is not None:
        _handler.addFilter(extra_filter)


_celery_hooked = False


def _hook_celery() -> None:
    """Celery keeps its hands off logging, and each task's lines carry its job or delivery ID."""
    global _celery_hooked
    if _celery_hooked:
        return
    from celery import signals

    _celery_hooked = True
    signals.setup_logging.connect(_celery_setup_logging, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_ended, weak=False)


def _celery_setup_logging(**_: Any) -> None:
    """Connected so that Celery does not configure logging itself (the root handler is ours)."""


_task_tokens: dict[str, contextvars.Token[dict[str, Any]]] = {}
_ID_ARG = {"analyse_study": "job", "deliver": "delivery"}
_study_lookup: list[Callable[[str, Any], str | None]] = []


def set_study_lookup(lookup: Callable[[str, Any], str | None]) -> None:
    """How a task's ``job`` or ``delivery`` ID leads to its study UID (set by the process that has a registry)."""
    _study_lookup[:] = [lookup]


def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    name = str(getattr(task, "name", "") or "").rsplit(".", 1)[-1]
    ids: dict[str, Any] = {"task": name or None}
    if name in _ID_ARG and args:
        ids[_ID_ARG[name]] = args[0]
        for lookup in _study_lookup:
            try:
                ids["study"] = lookup(_ID_ARG[name], args[0])
            except Exception:  # a log field is never worth failing a task
                logging.getLogger(__name__).debug("no study for %s %s", _ID_ARG[name], args[0], exc_info=True)
    if task_id:
        _task_tokens[task_id] = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v}})


def _task_ended(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        with contextlib.suppress(ValueError):
            _context.reset(token)
