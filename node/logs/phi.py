"""No patient names or IDs in any log line, the node's own or a library's (pydicom, pynetdicom, uvicorn).

:func:`install` is the one call a logging setup makes: it attaches :class:`PhiFilter` to every handler
that exists, wraps the log-record factory so that records reach handlers added later (uvicorn configures
its own) already redacted, and routes ``warnings`` through logging so pydicom's warnings are filtered too.

Redacted from every message and traceback:

- the patient names, IDs and accession numbers the node has received (:func:`remember`, called by the SCP
  for every instance it accepts; at most :data:`MAX_REMEMBERED` of them, the oldest forgotten first);
- anything written as a person name (``FAMILY^GIVEN``);
- byte strings shown as ``b'...'`` longer than a few characters (raw dataset bytes);
- the quoted value in pydicom's "Invalid value for VR XX: '...'" and similar value complaints.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any

MAX_REMEMBERED = 20000
REDACTED = "[redacted]"
_MIN_TOKEN = 3
_RECENT_VALUES = 256

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A token with a caret and a letter or digit in it; a traceback's ``^^^^`` markers are no name.
_PERSON_NAME = re.compile(r"(?=[^\s'\"\\]*[^\W_])[^\s'\"\\=^]*\^[^\s'\"\\]*")
_BYTES = re.compile(r"""b(['"])(?:\\.|(?!\1).){8,}?\1""")
_VALUE = re.compile(r"""((?:value|Value)[^:'"\n]{0,60}:\s*)(['"]).*?\2""")


class _Remembered:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, None] = OrderedDict()
        # The tokens of the values added lately: the same value again (every instance of a study names its
        # patient) costs a dictionary lookup, not a regular expression; its tokens are refreshed as before.
        self._recent: dict[str, list[str]] = {}

    def add(self, value: str) -> None:
        tokens = self._recent.get(value)
        if tokens is None:
            tokens = [t.casefold() for t in _TOKEN.findall(value) if len(t) >= _MIN_TOKEN]
            if len(self._recent) >= _RECENT_VALUES:
                self._recent.clear()
            self._recent[value] = tokens
        if not tokens:
            return
        with self._lock:
            for token in tokens:
                self._tokens[token] = None
                self._tokens.move_to_end(token)
            while len(self._tokens) > MAX_REMEMBERED:
                self._tokens.popitem(last=False)

    def __contains__(self, token: str) -> bool:
        return token.casefold() in self._tokens

    def __bool__(self) -> bool:
        return bool(self._tokens)


_remembered = _Remembered()


def remember(*values: str | None) -> None:
    """Patient names, IDs, accession numbers received: never to appear in a log line."""
    for value in values:
        if value:
            _remembered.add(str(value))


def redact(text: str) -> str:
    """``text`` without anything that identifies a patient."""
    if not text:
        return text
    text = _BYTES.sub(lambda m: f"b'<{len(m.group(0)) - 3} characters {REDACTED}>'", text)
    text = _VALUE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _PERSON_NAME.sub(REDACTED, text)
    if _remembered:
        text = _TOKEN.sub(lambda m: REDACTED if m.group(0) in _remembered else m.group(0), text)
    return text


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes {REDACTED}>"
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))  # any other object is shown by its text, redacted


def _scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Redact the record in place. The message template and each argument are redacted separately, so the
    record keeps its shape (formatters such as uvicorn's access log unpack ``args``)."""
    if getattr(record, "_phi_scrubbed", False):
        return record
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    else:
        record.msg = redact(str(record.msg))
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    try:
        record.getMessage()
    except Exception:  # the redacted arguments no longer fit the template: keep the text only
        record.msg, record.args = redact(str(record.msg)), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._phi_scrubbed = True
    return record


class PhiFilter(logging.Filter):
    """A handler filter that redacts the record in place (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


_FILTER = PhiFilter()
_installed = threading.Lock()
_factory_wrapped = False


def attach(handler: logging.Handler) -> None:
    if _FILTER not in handler.filters:
        handler.addFilter(_FILTER)


def install() -> None:
    """Attach the filter to every handler of every logger now, and redact every record made from now on."""
    global _factory_wrapped
    logging.captureWarnings(True)
    with _installed:
        if not _factory_wrapped:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return _scrub(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_wrapped = True
    loggers: list[logging.Logger | logging.PlaceHolder] = [logging.getLogger()]
    loggers += list(logging.Logger.manager.loggerDict.values())
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            attach(handler)
