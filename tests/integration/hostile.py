"""Hostile and broken peers on loopback, from raw sockets: garbage, truncated and idle associations."""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"


def _item(item_type: int, body: bytes) -> bytes:
    return struct.pack(">BBH", item_type, 0, len(body)) + body


def associate_rq(called: str = "SPINENODE", calling: str = "ATTACKER", abstract: str = VERIFICATION) -> bytes:
    """A complete, valid A-ASSOCIATE-RQ PDU proposing one presentation context."""
    context = bytes([1, 0, 0, 0]) + _item(0x30, abstract.encode()) + _item(0x40, IMPLICIT.encode())
    user = _item(0x51, struct.pack(">I", 16384))
    body = (
        struct.pack(">HH", 1, 0)
        + called.encode().ljust(16)
        + calling.encode().ljust(16)
        + bytes(32)
        + _item(0x10, b"1.2.840.10008.3.1.1.1")
        + _item(0x20, context)
        + _item(0x50, user)
    )
    return struct.pack(">BBI", 1, 0, len(body)) + body


def connect_from(source: str, port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


@contextmanager
def attack(port: int, *, garbage: int = 40, truncated: int = 40, idle: int = 40) -> Iterator[dict[str, int]]:
    """Open all the hostile connections at once (each kind from its own loopback address) and keep them
    open until the block ends. Yields counts of what was sent."""
    rng = random.Random(11)
    sockets: list[socket.socket] = []
    counts = {"garbage": 0, "truncated": 0, "idle_associated": 0}
    lock = threading.Lock()

    def keep(sock: socket.socket) -> None:
        with lock:
            sockets.append(sock)

    def garbage_peer() -> None:
        try:
            sock = connect_from("127.0.0.2", port)
            keep(sock)
            sock.sendall(bytes(rng.getrandbits(8) for _ in range(64)))
            counts["garbage"] += 1
        except OSError:
            pass

    def truncated_peer() -> None:
        try:
            sock = connect_from("127.0.0.3", port)
            keep(sock)
            rq = associate_rq()
            sock.sendall(rq[: len(rq) // 2])
            counts["truncated"] += 1
        except OSError:
            pass

    def idle_peer() -> None:
        try:
            sock = connect_from("127.0.0.4", port)
            keep(sock)
            sock.sendall(associate_rq())
            answer = sock.recv(6)
            if answer[:1] == b"\x02":
                counts["idle_associated"] += 1
        except OSError:
            pass

    threads = [threading.Thread(target=garbage_peer) for _ in range(garbage)]
    threads += [threading.Thread(target=truncated_peer) for _ in range(truncated)]
    threads += [threading.Thread(target=idle_peer) for _ in range(idle)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    try:
        yield counts
    finally:
        with lock:
            for sock in sockets:
                try:
                    sock.close()
                except OSError:
                    pass
