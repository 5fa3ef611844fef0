"""The SCP's pynetdicom loops wake on data: no 1 ms polling sleeps while serving, stock loops otherwise.

Real pynetdicom on both ends over loopback. The sleeps are counted by replacing the ``time`` module that
pynetdicom's dul.py and association.py call ``sleep`` on (a counting wrapper that still sleeps), so the
count says which loop ran, not how fast anything was.
"""

from __future__ import annotations

import collections
import logging
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pynetdicom
import pytest
from pynetdicom import AE, evt
from pynetdicom import association as pynetdicom_association
from pynetdicom import dul as pynetdicom_dul
from pynetdicom.service_class import VerificationServiceClass
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from node.dicom import reactors
from node.dicom.guard import PeerLimits, start_guarded_server
from node.dicom.requestor import WakingAE
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool

#: per C-ECHO served: whether its handler ran in the DUL thread that decoded it
in_dul: list[bool] = []


class CountingTime:
    def __init__(self) -> None:
        self.sleeps: collections.Counter[int] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self.sleeps[threading.get_ident()] += 1
        time.sleep(seconds)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingTime:
    clock = CountingTime()
    monkeypatch.setattr(pynetdicom_dul, "time", clock)
    monkeypatch.setattr(pynetdicom_association, "time", clock)
    return clock


@pytest.fixture
def echo_server() -> Iterator[tuple[int, list[tuple[Any, set[int]]]]]:
    served: list[tuple[Any, set[int]]] = []
    in_dul.clear()

    def on_echo(event: Any) -> int:
        served.append((event.assoc, {threading.get_ident(), event.assoc.dul.ident, event.assoc.ident}))
        in_dul.append(threading.get_ident() == event.assoc.dul.ident)
        return 0

    ae = AE(ae_title="SCP")
    ae.add_supported_context(Verification)
    server = start_guarded_server(ae, ("127.0.0.1", 0), [(evt.EVT_C_ECHO, on_echo)], PeerLimits(idle_timeout=60))
    yield int(server.server_address[1]), served
    server.shutdown()


def _echoes(port: int, count: int, clock: CountingTime, served: list[tuple[Any, set[int]]]) -> int:
    """Sleeps of the acceptor's two threads while ``count`` C-ECHOs are served on one association."""
    ae = AE(ae_title="SCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established
    assert all(assoc.send_c_echo().Status == 0 for _ in range(count))
    threads = served[-1][1]
    slept = sum(clock.sleeps[t] for t in threads)
    assoc.release()
    return slept


def test_the_pinned_pynetdicom_gets_the_waking_loops() -> None:
    """Fails when pynetdicom changes its loops: update node/dicom/reactors.py (and its digests) then."""
    assert reactors.supported(), f"pynetdicom {pynetdicom.__version__}: waking loops not installed"


def test_serving_sleeps_not_at_all_with_the_hook_and_every_loop_without(
    counting: CountingTime, echo_server: tuple[int, list[tuple[Any, set[int]]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, served = echo_server
    assert _echoes(port, 30, counting, served) == 0
    assert in_dul == [True] * 30, "C-ECHO is served in the DUL thread, with no hand-over"
    assert isinstance(served[-1][0], reactors.WakingAssociation)
    assert isinstance(served[-1][0].dul, reactors.WakingDUL)
    monkeypatch.setattr(reactors, "supported", lambda: False)
    assert _echoes(port, 30, counting, served) >= 30, "the stock loops poll: the count must see them"
    assert in_dul[-1] is False
    assert type(served[-1][0]) is pynetdicom_association.Association


@pytest.mark.parametrize(
    "changed",
    [
        "Association._run_reactor",
        "DULServiceProvider._read_pdu_data",
        "DIMSEMessage.decode_msg",
        "utils.set_uid",
        "pydicom.uid.UID.__new__",
    ],
)
def test_a_changed_stock_loop_falls_back_to_pynetdicoms_own(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, changed: str
) -> None:
    reactors.supported.cache_clear()
    monkeypatch.setitem(reactors.STOCK_LOOP_SOURCES, changed, "0" * 64)
    try:
        with caplog.at_level(logging.WARNING, logger="node.dicom.reactors"):
            assert not reactors.supported()
        assert changed in caplog.text
        assoc = pynetdicom_association.Association(AE(), "acceptor")
        assert not reactors.wake_on_data(assoc) and type(assoc) is pynetdicom_association.Association
    finally:
        reactors.supported.cache_clear()


def test_an_idle_association_is_still_closed_by_the_idle_timer() -> None:
    ae = AE(ae_title="SCP")
    ae.add_supported_context(Verification)
    server = start_guarded_server(ae, ("127.0.0.1", 0), [], PeerLimits(idle_timeout=0.5))
    try:
        scu = AE(ae_title="SCU")
        scu.add_requested_context(Verification)
        assoc = scu.associate("127.0.0.1", int(server.server_address[1]))
        assert assoc.is_established
        deadline = time.monotonic() + 10
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not assoc.is_established and assoc.is_aborted
    finally:
        server.shutdown()


def test_the_storage_scp_serves_with_the_waking_loops(tmp_path: Path) -> None:
    scp = StorageSCP(
        ae_title="SPINENODE", host="127.0.0.1", port=0, spool=Spool(tmp_path), on_received=lambda item: None
    )
    scp.start()
    try:
        scu = AE(ae_title="SCU")
        scu.add_requested_context(Verification)
        assoc = scu.associate("127.0.0.1", scp.port, ae_title="SPINENODE")
        assert assoc.is_established and assoc.send_c_echo().Status == 0
        accepted = scp.ae.active_associations
        assoc.release()
        assert accepted and all(isinstance(a, reactors.WakingAssociation) for a in accepted)
        assert all(type(a.dul.socket) is reactors.WholeReadSocket for a in accepted)
    finally:
        scp.stop()


def test_a_request_failing_in_the_dul_thread_aborts_the_association_without_a_deadlock(
    echo_server: tuple[int, list[tuple[Any, set[int]]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, served = echo_server

    def broken(self: Any, req: Any, context: Any) -> None:
        raise RuntimeError("service class failed")

    monkeypatch.setattr(VerificationServiceClass, "SCP", broken)
    ae = AE(ae_title="SCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established
    assoc.send_c_echo()
    deadline = time.monotonic() + 10
    while not assoc.is_aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert assoc.is_aborted, "the association must be aborted, not left hanging"
    monkeypatch.undo()
    again = ae.associate("127.0.0.1", port)
    assert again.is_established and again.send_c_echo().Status == 0
    again.release()


def test_the_nodes_sender_runs_the_waking_loops_and_never_polls(
    counting: CountingTime, echo_server: tuple[int, list[tuple[Any, set[int]]]]
) -> None:
    port, _served = echo_server
    ae = WakingAE(ae_title="SCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established
    assert isinstance(assoc, reactors.WakingAssociation) and isinstance(assoc.dul, reactors.WakingDUL)
    assert type(assoc.dul.socket) is reactors.WholeReadSocket
    assert all(assoc.send_c_echo().Status == 0 for _ in range(200))
    slept = sum(counting.sleeps[t] for t in (assoc.ident, assoc.dul.ident) if t is not None)
    # a send after a pause: the reactor idles in its wait; clearing the checkpoint wakes it at once
    # instead of the send waiting for SAFETY_WAIT to run out (about 25 ms on average without the wake)
    after_idle = []
    for _ in range(10):
        time.sleep(reactors.SAFETY_WAIT * 2.5)
        started = time.monotonic()
        assert assoc.send_c_echo().Status == 0
        after_idle.append(time.monotonic() - started)
    assoc.release()
    assert slept == 0
    assert statistics.median(after_idle) < reactors.SAFETY_WAIT / 4, after_idle


class _SetThenClearedAtOnce(threading.Event):
    """A checkpoint set and cleared again by the next ``send_*`` before the woken reactor ran."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        if self.waits == 2:
            self.set()  # the sender is done: the reactor may run
        return True


def test_a_reactor_woken_after_the_next_send_cleared_the_checkpoint_pauses_again() -> None:
    assoc = pynetdicom_association.Association(AE(), "requestor")
    assert reactors.wake_on_data(assoc)
    waking = assoc if isinstance(assoc, reactors.WakingAssociation) else None
    assert waking is not None
    checkpoint = _SetThenClearedAtOnce()
    waking._reactor_checkpoint = checkpoint
    waking._pause_while_checkpoint_cleared()
    assert checkpoint.waits == 2, "the first wake-up found the checkpoint cleared: it must pause again"
    assert waking._is_paused is False
