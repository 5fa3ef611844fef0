"""The test guard: a connection outside loopback fails at once with its address; loopback still works."""

from __future__ import annotations

import socket
import time

import network_guard
import pytest


def test_outside_address_fails_at_once_with_its_address() -> None:
    started = time.monotonic()
    with pytest.raises(network_guard.NetworkBlockedError, match=r"192\.0\.2\.1:104.*must not touch the network"):
        socket.create_connection(("192.0.2.1", 104), timeout=30)  # TEST-NET-1: never routed
    assert time.monotonic() - started < 1.0
    assert network_guard.blocked, "the attempt is recorded, so a swallowed error still fails the test"
    del network_guard.blocked[:]


def test_a_name_is_not_resolved() -> None:
    with pytest.raises(network_guard.NetworkBlockedError, match="pypi.org:443"):
        with socket.socket() as sock:
            sock.connect(("pypi.org", 443))
    del network_guard.blocked[:]


@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_loopback_still_connects(family: socket.AddressFamily, host: str) -> None:
    with socket.socket(family) as server:
        try:
            server.bind((host, 0))
        except OSError:
            pytest.skip(f"{host} is not configured on this machine")
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection((host, port), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
    assert not network_guard.blocked
