"""Notifications: a log line, and a webhook POST to a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from node.routing import Notifier, Phase, Priority, RoutingDecision
from node.routing.notify import NotificationError, send_notification

DECISION = RoutingDecision(phase=Phase.RESULTS, priority=Priority.STAT, results_to=["pacs"])


@pytest.fixture
def hook() -> Iterator[tuple[str, list[Any], list[int]]]:
    received: list[Any] = []
    status = [204]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status[0])
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"nope")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received, status
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_log_notifier(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="node.routing.notify"):
        send_notification(Notifier(name="log", kind="log"), "1.2.3", DECISION)
    assert caplog.records[0].notification["priority"] == "stat"  # type: ignore[attr-defined]


def test_webhook_success_and_refusal(hook: tuple[str, list[Any], list[int]]) -> None:
    url, received, status = hook
    notifier = Notifier(name="oncall", kind="webhook", url=url, timeout_seconds=5)
    send_notification(notifier, "1.2.3", DECISION)
    assert received[0]["study_instance_uid"] == "1.2.3"
    assert received[0]["results_to"] == ["pacs"]
    status[0] = 500
    with pytest.raises(NotificationError, match="notifier 'oncall': webhook answered 500: nope"):
        send_notification(notifier, "1.2.3", DECISION)


def test_webhook_unreachable() -> None:
    notifier = Notifier(name="oncall", kind="webhook", url="http://127.0.0.1:9/hook", timeout_seconds=2)
    with pytest.raises(NotificationError, match="notifier 'oncall': ConnectError"):
        send_notification(notifier, "1.2.3", DECISION)
