"""Test hosts in Linux network namespaces: each host gets its own namespace with one interface plugged into
a bridge that lives in a namespace of its own (the switch), so nothing is added to the machine's own network
and the machine's services on 127.0.0.1 are never seen. A host's link is cut at its switch port
(``ip link set … down``), like pulling its cable: the host keeps its address and its sockets, packets stop.

Needs root and a kernel that allows network namespaces; :func:`netns_refusal` says why not, if not.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def _check(*args: str) -> None:
    out = _ip(*args)
    if out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.strip()}")


def netns_refusal() -> str | None:
    """None when this machine lets the test make namespaces and veth pairs; otherwise the reason."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"sn-probe-{secrets.token_hex(3)}"
    out = _ip("netns", "add", name)
    if out.returncode != 0:
        return f"the kernel refused a network namespace: {out.stderr.strip()}"
    try:
        veth = _ip("-n", name, "link", "add", "pa", "type", "veth", "peer", "name", "pb")
        if veth.returncode != 0:
            return f"the kernel refused a veth pair: {veth.stderr.strip()}"
    finally:
        _ip("netns", "del", name)
    return None


@dataclass
class Host:
    name: str  # the namespace
    address: str
    port: str  # its interface on the switch
    net: Network

    def cmd(self, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, args: list[str], timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(args), capture_output=True, text=True, timeout=timeout, **kw)

    def popen(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = open(log, "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(self.cmd(args), stdout=out, stderr=subprocess.STDOUT, env=env)
        self.net.processes.append(proc)
        return proc

    def wait_port(self, address: str, port: int, timeout: float = 60) -> None:
        probe = f"exec 3<>/dev/tcp/{address}/{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run(["bash", "-c", probe], timeout=10).returncode == 0:
                return
            time.sleep(0.3)
        raise TimeoutError(f"{self.name}: nothing listening on {address}:{port} after {timeout} s")

    def cut(self) -> float:
        """Pull this host's cable (its switch port down). Returns the monotonic time of the cut."""
        _check("-n", self.net.switch, "link", "set", self.port, "down")
        return time.monotonic()

    def restore(self) -> float:
        _check("-n", self.net.switch, "link", "set", self.port, "up")
        return time.monotonic()


@dataclass
class Network:
    """A switch namespace with a bridge and any number of hosts on 10.77.0.0/24."""

    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"sn{self.tag}-sw"

    def __post_init__(self) -> None:
        _check("netns", "add", self.switch)
        _check("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _check("-n", self.switch, "link", "set", "br0", "up")

    def add(self, role: str) -> Host:
        index = len(self.hosts) + 1
        name = f"sn{self.tag}-{role}"
        address = f"10.77.0.{10 + index}"
        port = f"p{index}"
        _check("netns", "add", name)
        _check("-n", name, "link", "set", "lo", "up")
        _check("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", self.switch)
        _check("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _check("-n", name, "link", "set", "eth0", "up")
        _check("-n", self.switch, "link", "set", port, "master", "br0")
        _check("-n", self.switch, "link", "set", port, "up")
        host = Host(name, address, port, self)
        self.hosts[role] = host
        return host

    def close(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.processes.clear()
        for host in self.hosts.values():
            pids = _ip("netns", "pids", host.name).stdout.split()
            for pid in pids:  # anything a test process left in the namespace
                subprocess.run(["kill", "-9", pid], capture_output=True)
            _ip("netns", "del", host.name)
        self.hosts.clear()
        _ip("netns", "del", self.switch)
