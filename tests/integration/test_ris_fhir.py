"""send_report to a real HTTP server on loopback (http.server in a thread) accepting or refusing the
conditional update (PUT DiagnosticReport?identifier=…), and an amendment that updates the same resource."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from node.ris import FhirError, ReportSummary, RisDeliveryError, RisEndpointSettings, send_report

pytestmark = pytest.mark.integration

SUMMARY = ReportSummary(
    study_instance_uid="1.2.826.0.1.3680043.8.498.41",
    accession_number="A41",
    patient_key="PSEUDO-41",
    study_date=date(2024, 3, 5),
    grades={"csf_leak": "STRONGLY_SUSPECTED"},
    flags=[],
    priority="routine",
    amended=True,
)


class FhirServer:
    def __init__(self, status: int, body: str = "", delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                outer.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "authorization": self.headers.get("Authorization"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                if delay:
                    threading.Event().wait(delay)
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def _answer(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                if 200 <= status < 300:
                    self.send_header("Location", "/r4/DiagnosticReport/17/_history/1")
                data = body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def servers() -> Iterator[list[FhirServer]]:
    started: list[FhirServer] = []
    yield started
    for server in started:
        server.close()


def endpoint(url: str, timeout: float = 5.0) -> RisEndpointSettings:
    return RisEndpointSettings(
        name="fhir",
        kind="fhir",
        url=url,
        timeout_seconds=timeout,
        connect_timeout_seconds=2.0,
        bearer_token="t0ken",
    )


def test_created_is_success(servers: list[FhirServer]) -> None:
    server = FhirServer(201, '{"resourceType": "DiagnosticReport", "id": "17"}')
    servers.append(server)
    receipt = send_report(endpoint(server.url), SUMMARY)
    assert receipt == "fhir: FHIR DiagnosticReport accepted (201) at /r4/DiagnosticReport/17/_history/1"
    request = server.requests[0]
    assert request["path"] == (
        "/r4/DiagnosticReport?identifier=urn%3Aspinenode%3Adiagnostic-report%7C1.2.826.0.1.3680043.8.498.41"
    )
    assert request["content_type"] == "application/fhir+json"
    assert request["authorization"] == "Bearer t0ken"
    assert request["body"]["status"] == "amended"
    assert request["body"]["conclusionCode"][0]["coding"][0]["code"] == "csf_leak:STRONGLY_SUSPECTED"


@pytest.mark.parametrize("status", [400, 422, 500])
def test_refusal_is_a_failure_with_status_and_body(servers: list[FhirServer], status: int) -> None:
    server = FhirServer(status, '{"resourceType": "OperationOutcome", "issue": [{"diagnostics": "bad subject"}]}')
    servers.append(server)
    with pytest.raises(FhirError, match=f"answered {status}: .*bad subject") as info:
        send_report(endpoint(server.url), SUMMARY)
    assert info.value.status_code == status


def test_redirect_is_not_success(servers: list[FhirServer]) -> None:
    server = FhirServer(302, "moved")
    servers.append(server)
    with pytest.raises(RisDeliveryError, match="answered 302"):
        send_report(endpoint(server.url), SUMMARY)


def test_slow_server_times_out(servers: list[FhirServer]) -> None:
    server = FhirServer(201, "{}", delay=1.5)
    servers.append(server)
    with pytest.raises(RisDeliveryError, match="ReadTimeout"):
        send_report(endpoint(server.url, timeout=0.3), SUMMARY)


def test_no_server_is_a_failure() -> None:
    server = FhirServer(201)
    url = server.url
    server.close()
    with pytest.raises(RisDeliveryError, match="ConnectError"):
        send_report(endpoint(url), SUMMARY)


class ConditionalUpdateServer:
    """The FHIR conditional-update rule (R4 3.1.0.4.3): no match creates (201), one match updates (200)."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's name
                from urllib.parse import parse_qs, urlsplit

                query = parse_qs(urlsplit(self.path).query)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                key = query["identifier"][0]
                created = key not in outer.resources
                rid = str(len(outer.resources) + 1) if created else outer.resources[key]["id"]
                outer.resources[key] = {**body, "id": rid}
                self.send_response(201 if created else 200)
                self.send_header("Location", f"/r4/DiagnosticReport/{rid}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def test_an_amendment_updates_the_same_report() -> None:
    server = ConditionalUpdateServer()
    try:
        original = ReportSummary(**{**SUMMARY.__dict__, "amended": False, "sr_sop_instance_uid": "1.2.3.1"})
        amended = ReportSummary(**{**SUMMARY.__dict__, "amended": True, "sr_sop_instance_uid": "1.2.3.2"})
        first = send_report(endpoint(server.url), original)
        second = send_report(endpoint(server.url), amended)
        assert "(201)" in first and "(200)" in second
        assert first.endswith("DiagnosticReport/1") and second.endswith("DiagnosticReport/1")
        (stored,) = server.resources.values()
        assert stored["status"] == "amended"
        assert any(i.get("value") == "urn:oid:1.2.3.2" for i in stored["identifier"])
    finally:
        server.close()
