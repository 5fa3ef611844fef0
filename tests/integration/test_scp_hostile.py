"""Hostile peers cannot block the DICOM port: raw sockets on loopback against the SCP, DCMTK as the good peer."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

from hostile import associate_rq, attack, connect_from
from peers import dcmtk, free_port, wait_until

from node.dicom.guard import PeerLimits
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool


def _scp(tmp_path: Path, **kwargs: object) -> StorageSCP:
    scp = StorageSCP(
        ae_title="SPINENODE",
        host="127.0.0.1",
        port=free_port(),
        spool=Spool(tmp_path / "spool", min_free_bytes=0),
        on_received=lambda item: None,
        **kwargs,  # type: ignore[arg-type]
    )
    scp.start()
    return scp


def _echo(port: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    out = subprocess.run(
        [dcmtk("echoscu"), "-to", "10", "-ta", "10", "-aec", "SPINENODE", "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return time.monotonic() - started, out


def test_good_peer_associates_within_3_s_under_120_hostile_connections(tmp_path: Path) -> None:
    scp = _scp(tmp_path)
    try:
        with attack(scp.port, garbage=40, truncated=40, idle=40) as counts:
            assert counts["garbage"] >= 30 and counts["truncated"] >= 30, counts
            assert counts["idle_associated"] >= 1, "idle peers associate up to their per-peer limit"
            assert scp._server is not None
            seconds, out = _echo(scp.port)
            print(f"echoscu under attack: {seconds:.2f} s, gate (pending, held) = {scp._server.gate.counts()}")
            assert out.returncode == 0, out.stdout + out.stderr
            assert seconds < 3.0
            # a second good peer, still during the attack
            seconds2, out2 = _echo(scp.port)
            assert out2.returncode == 0 and seconds2 < 3.0
        # the slots are all given back once the peers have gone
        wait_until(lambda: scp._server.gate.counts() == (0, 0), 10, "gate counts back to zero")
    finally:
        scp.stop()


def test_unfinished_association_is_closed_after_the_acse_timeout(tmp_path: Path) -> None:
    scp = _scp(tmp_path, limits=PeerLimits(acse_timeout=1.0))
    try:
        sock = connect_from("127.0.0.5", scp.port)
        rq = associate_rq()
        sock.sendall(rq[:20])
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(100) == b"", "the node closes the connection"
        assert time.monotonic() - started < 2.5
        sock.close()
        silent = connect_from("127.0.0.5", scp.port)
        silent.settimeout(5)
        assert silent.recv(100) == b""
        silent.close()
    finally:
        scp.stop()


def test_pending_connections_per_peer_are_bounded(tmp_path: Path) -> None:
    scp = _scp(tmp_path, limits=PeerLimits(acse_timeout=5.0, max_pending_per_peer=3))
    socks: list[socket.socket] = []
    try:
        for _ in range(3):
            socks.append(connect_from("127.0.0.6", scp.port))
        wait_until(lambda: scp._server.gate.counts()[0] == 3, 5, "three pending")  # type: ignore[union-attr]
        extra = connect_from("127.0.0.6", scp.port)
        extra.settimeout(3)
        answer = extra.recv(100)
        assert answer[:1] == b"\x03", "A-ASSOCIATE-RJ (local limit exceeded) at once"
        extra.close()
        seconds, out = _echo(scp.port)  # another address is not affected
        assert out.returncode == 0 and seconds < 3.0
    finally:
        for s in socks:
            s.close()
        scp.stop()


def test_peer_aborting_during_negotiation_does_not_kill_the_reactor(tmp_path: Path) -> None:
    """A valid A-ASSOCIATE-RQ followed at once by garbage: the local answer arrives in Sta13. It used to
    raise InvalidEventError in the reactor thread and leave the slot held with the socket open."""
    scp = _scp(tmp_path, allowed_calling_aets=["GOODSCU"])
    died: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: died.append(args.exc_value)
    try:
        for _ in range(40):
            sock = connect_from("127.0.0.7", scp.port)
            sock.sendall(associate_rq(calling="INTRUDER") + b"\x99" * 64)
            sock.close()
        assert scp._server is not None
        wait_until(lambda: scp._server.gate.counts() == (0, 0), 10, "every slot released")
        assert not [t for t in threading.enumerate() if "AcceptorThread" in t.name]
        assert died == [], "a reactor thread died"
        good = subprocess.run(
            [dcmtk("echoscu"), "-aet", "GOODSCU", "-aec", "SPINENODE", "127.0.0.1", str(scp.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert good.returncode == 0, good.stderr
    finally:
        threading.excepthook = previous
        scp.stop()


def test_every_association_accepted_or_refused_is_audited(tmp_path: Path) -> None:
    events: list[dict[str, object]] = []
    scp = _scp(
        tmp_path,
        allowed_calling_aets=["GOODSCU"],
        limits=PeerLimits(acse_timeout=1.0),
        audit=lambda action, **fields: events.append({"action": action, **fields}),
    )
    try:
        ok = subprocess.run(
            [dcmtk("echoscu"), "-aet", "GOODSCU", "-aec", "SPINENODE", "127.0.0.1", str(scp.port)],
            capture_output=True,
            timeout=30,
        )
        assert ok.returncode == 0
        bad = subprocess.run(
            [dcmtk("echoscu"), "-aet", "INTRUDER", "-aec", "SPINENODE", "127.0.0.1", str(scp.port)],
            capture_output=True,
            timeout=30,
        )
        assert bad.returncode != 0
        garbage = connect_from("127.0.0.8", scp.port)
        garbage.sendall(b"\x99" * 64)
        garbage.settimeout(5)
        garbage.recv(10)
        garbage.close()
        wait_until(lambda: len(events) >= 3, 10, "three association events")
    finally:
        scp.stop()
    outcomes = {(e["outcome"], e.get("calling_aet"), e["peer"]) for e in events}
    assert ("success", "GOODSCU", "127.0.0.1") in outcomes
    assert ("refused", "INTRUDER", "127.0.0.1") in outcomes
    assert any(
        e["outcome"] == "refused" and e["peer"] == "127.0.0.8" and "A-ASSOCIATE-RQ" in str(e["result"]) for e in events
    )


def test_mutated_pdus_leave_no_slot_held(tmp_path: Path) -> None:
    """400 A-ASSOCIATE-RQs with random bytes changed (some followed by a mutated P-DATA), 4 at a time;
    afterwards every slot is free and a good peer associates at once."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    scp = _scp(tmp_path, limits=PeerLimits(acse_timeout=1.0, max_pending_per_peer=8))
    died: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: died.append(args.exc_value)
    rng = random.Random(7)
    base = associate_rq()
    pdata = bytes([4, 0, 0, 0, 0, 12, 0, 0, 0, 8, 1, 3]) + b"\x00" * 6
    payloads = []
    for _ in range(400):
        data = bytearray(base + (pdata if rng.random() < 0.5 else b""))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        payloads.append(bytes(data))

    def one(payload: bytes) -> None:
        try:
            sock = connect_from("127.0.0.9", scp.port)
            sock.sendall(payload)
            sock.settimeout(2)
            try:
                sock.recv(100)
            except OSError:
                pass
            sock.close()
        except OSError:
            pass

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, payloads))
        assert scp._server is not None
        wait_until(lambda: scp._server.gate.counts() == (0, 0), 20, "every slot released")
        wait_until(
            lambda: not [t for t in threading.enumerate() if "AcceptorThread" in t.name], 20, "association threads gone"
        )
        seconds, out = _echo(scp.port)
        assert out.returncode == 0 and seconds < 3.0
        assert died == [], died[:3]
    finally:
        threading.excepthook = previous
        scp.stop()
