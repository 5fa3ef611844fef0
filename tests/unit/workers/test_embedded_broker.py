"""The embedded broker (workers.embedded_broker): kombu's filesystem transport over a real folder, with the
message written whole before a worker can take it, and an undecodable one dropped instead of ending the worker."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection
from kombu.transport import filesystem

from workers import celery_app, embedded_broker


def _connection(folder: Path) -> Connection:
    options = celery_app.broker_options("", folder)
    return Connection(options["broker_url"], transport_options=options["broker_transport_options"])


def test_the_embedded_default_uses_this_transport_and_a_message_goes_through(tmp_path: Path) -> None:
    with _connection(tmp_path) as conn:
        assert isinstance(conn.transport, embedded_broker.Transport)
        queue = conn.SimpleQueue("analysis")
        queue.put({"job": 7})
        message = queue.get(timeout=5)
        assert message.payload == {"job": 7}
        message.ack()
        queue.close()
    assert list((tmp_path / "broker" / "queue").iterdir()) == []


def test_a_message_is_invisible_to_workers_until_it_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "broker" / "queue"
    seen_while_writing: list[list[str]] = []
    real = embedded_broker.str_to_bytes

    def encode_and_look(text: Any) -> bytes:
        seen_while_writing.append(sorted(p.name for p in folder.iterdir()))
        return real(text)

    monkeypatch.setattr(embedded_broker, "str_to_bytes", encode_and_look)
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        channel._put("analysis", {"job": 1})
        # while the bytes were written only the staging file existed, under a name no worker takes
        (names,) = seen_while_writing
        assert len(names) == 1 and names[0].startswith(".") and names[0].endswith(".part")
        assert names[0].partition(".")[2] != "analysis.msg"
        (final,) = [p.name for p in folder.iterdir()]
        assert final.endswith(".analysis.msg") and not final.startswith(".")
        assert channel._get("analysis") == {"job": 1}


def test_an_empty_message_file_is_dropped_with_a_log_line_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "broker" / "queue"
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        # what kombu's own _put shows before it writes; "0_" sorts before every real name (milliseconds of
        # uptime), so the channel meets it first, whatever the machine's uptime
        (folder / "0_empty.analysis.msg").write_bytes(b"")
        channel._put("analysis", {"job": 2})
        with caplog.at_level(logging.ERROR, logger="workers.embedded_broker"):
            assert channel._get("analysis") == {"job": 2}
        assert "undecodable message on queue analysis was dropped" in caplog.text
        with pytest.raises(filesystem.Empty):
            channel._get("analysis")


def test_kombus_own_channel_raises_on_the_same_empty_file(tmp_path: Path) -> None:
    """The failure this transport exists for: the stock channel's JSON error ends a Celery worker."""
    folder = tmp_path / "broker" / "queue"
    options = celery_app.broker_options("", tmp_path)
    with Connection("filesystem://", transport_options=options["broker_transport_options"]) as conn:
        (folder / "0_empty.analysis.msg").write_bytes(b"")
        with pytest.raises(ValueError):
            conn.default_channel._get("analysis")
