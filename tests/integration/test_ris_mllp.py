"""send_report over MLLP to a real listener on loopback that parses the message with python-hl7."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import date

import hl7
import pytest

from node.ris import MllpError, ReportSummary, RisDeliveryError, RisEndpointSettings, send_report
from node.ris.mllp import END_BLOCK, frame, unframe

pytestmark = pytest.mark.integration

SUMMARY = ReportSummary(
    study_instance_uid="1.2.826.0.1.3680043.8.498.31",
    accession_number="A31",
    patient_key="PSEUDO-31",
    study_date=date(2024, 3, 5),
    grades={"csf_leak": "DEFINITE"},
    flags=["CSF leak | DEFINITE"],
    priority="stat",
)

Reply = Callable[[hl7.Message], bytes | None]


class Listener:
    """One-connection-at-a-time MLLP listener; ``reply`` builds the answer bytes (None: close silently)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.received: list[hl7.Message] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while END_BLOCK not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                message = hl7.parse(unframe(data))
                self.received.append(message)
                answer = self.reply(message)
                if answer is not None:
                    conn.sendall(answer)

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join(timeout=5)


@pytest.fixture
def listen() -> Iterator[Callable[[Reply], Listener]]:
    started: list[Listener] = []

    def start(reply: Reply) -> Listener:
        listener = Listener(reply)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.close()


def endpoint(port: int, timeout: float = 5.0) -> RisEndpointSettings:
    return RisEndpointSettings(
        name="ris",
        kind="hl7_mllp",
        host="127.0.0.1",
        port=port,
        timeout_seconds=timeout,
        connect_timeout_seconds=2.0,
    )


def ack(code: str, text: str = "") -> Reply:
    def reply(message: hl7.Message) -> bytes:
        answer = message.create_ack(code)
        if text:
            answer.segment("MSA").assign_field(text, 3)
        return frame(str(answer))

    return reply


def test_aa_is_success_and_the_listener_parsed_the_report(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(ack("AA"))
    receipt = send_report(endpoint(listener.port), SUMMARY)
    assert len(listener.received) == 1
    message = listener.received[0]
    control_id = str(message.segment("MSH")(10))
    assert receipt == f"ris: HL7 ACK AA for message {control_id}"
    assert str(message.segment("MSH")(9)) == "ORU^R01^ORU_R01"
    assert str(message.segment("OBR")(20)) == SUMMARY.study_instance_uid
    finding = message.segments("OBX")[0]
    assert str(finding(3)(1)(2)) == "Finding" and message.unescape(str(finding(5))) == "CSF leak | DEFINITE"


def test_ae_is_a_failure_with_the_reason(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(ack("AE", "unknown accession"))
    with pytest.raises(MllpError, match="RIS answered AE: unknown accession") as info:
        send_report(endpoint(listener.port), SUMMARY)
    assert isinstance(info.value, RisDeliveryError) and info.value.endpoint == "ris"


def test_ar_is_a_failure(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(ack("AR"))
    with pytest.raises(RisDeliveryError, match="RIS answered AR"):
        send_report(endpoint(listener.port), SUMMARY)


def test_ack_for_another_message_is_a_failure(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(lambda m: frame(str(m.create_ack("AA"))).replace(str(m.segment("MSH")(10)).encode(), b"X"))
    with pytest.raises(RisDeliveryError, match="ACK is for message"):
        send_report(endpoint(listener.port), SUMMARY)


def test_close_without_answer_is_a_failure(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(lambda m: None)
    with pytest.raises(RisDeliveryError, match="connection closed without an acknowledgement"):
        send_report(endpoint(listener.port), SUMMARY)
    assert len(listener.received) == 1


def test_garbage_answer_is_a_failure(listen: Callable[[Reply], Listener]) -> None:
    listener = listen(lambda m: frame("hello"))
    with pytest.raises(RisDeliveryError, match="not an HL7 ACK"):
        send_report(endpoint(listener.port), SUMMARY)


def test_silent_peer_times_out() -> None:
    # accepts the connection (kernel backlog) but never reads or answers
    server = socket.create_server(("127.0.0.1", 0))
    try:
        port = server.getsockname()[1]
        with pytest.raises(RisDeliveryError, match="no acknowledgement within 0.5 s"):
            send_report(endpoint(port, timeout=0.5), SUMMARY)
    finally:
        server.close()


def test_refused_connection_is_a_failure() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(RisDeliveryError, match=f"cannot connect to 127.0.0.1:{port}"):
        send_report(endpoint(port), SUMMARY)
