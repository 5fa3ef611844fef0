"""A guard for tests: every connection this process makes outside loopback fails at once.

The machine that runs the tests is offline, and a test that reaches out waits on time-outs instead of
failing. ``install()`` patches ``socket.socket`` so that a connection (or datagram) to an address outside
127.0.0.0/8 and ::1 raises ``NetworkBlockedError`` naming the address, and records it in ``blocked`` so the
test that tried fails even if the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


class NetworkBlockedError(RuntimeError):
    """A test tried to reach an address outside loopback (not an OSError: nothing retries it)."""


blocked: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name other than localhost: resolving it would already use the network
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 / :: reach this machine


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets, netlink: local by nature
    host = str(address[0]) if isinstance(address, tuple) else str(address)
    if _is_loopback(host):
        return
    port = address[1] if isinstance(address, tuple) and len(address) > 1 else "?"
    message = (
        f"a test tried to connect to {host}:{port}; tests must not touch the network "
        "(only loopback: 127.0.0.1, ::1). Use a local peer or the files installed with the packages."
    )
    blocked.append(message)
    raise NetworkBlockedError(message)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _check(self, args[-1])
    return _real_sendto(self, data, *args)


def install() -> None:
    """Patch ``socket.socket`` for this process (idempotent)."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign, assignment]
