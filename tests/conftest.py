"""For every test: the shared helpers in tests/support on the import path, and no network.

Every connection this process makes to an address outside loopback (127.0.0.0/8, ::1) fails at once with a
message naming the address (tests/support/network_guard.py), and the test that tried fails even if the code
under test swallowed the error. Peers started as subprocesses (Orthanc, DCMTK, node processes) are not
patched; the tests give them loopback addresses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))

import network_guard  # noqa: E402

network_guard.install()


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Fail the test that tried to reach the network, even when the code under test caught the error."""
    del network_guard.blocked[:]
    yield
    if network_guard.blocked:
        attempts = list(dict.fromkeys(network_guard.blocked))
        del network_guard.blocked[:]
        pytest.fail("; ".join(attempts), pytrace=False)
