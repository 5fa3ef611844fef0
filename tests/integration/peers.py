"""Real peers on loopback for integration tests: Orthanc (the PACS), DCMTK tools, a node process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DCMTK_BIN = Path("/usr/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dcmtk(tool: str) -> str:
    """Path of a DCMTK tool (the Debian package), not a same-named Python entry point."""
    path = DCMTK_BIN / tool
    if not path.exists():
        raise RuntimeError(f"DCMTK {tool} not installed (apt-get install dcmtk)")
    return str(path)


def storescu(
    paths: list[Path],
    port: int,
    *,
    called: str = "SPINENODE",
    calling: str = "STORESCU",
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    args = [dcmtk("storescu"), "-nh", "-aec", called, "-aet", calling, *(extra or []), "127.0.0.1", str(port)]
    args += [str(p) for p in paths]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


@dataclass
class Orthanc:
    """An Orthanc server started on free ports with its own storage folder."""

    root: Path
    aet: str = "ORTHANC"
    dicom_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more Orthanc configuration (e.g. DICOM TLS)

    def start(self) -> Orthanc:
        exe = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
        self.root.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "spinenode-test-pacs",
            "StorageDirectory": str(self.root / "db"),
            "IndexDirectory": str(self.root / "db"),
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowStore": True,
            "Plugins": [],
            "StorageCompression": False,
            **self.extra,
        }
        cfg = self.root / "orthanc.json"
        cfg.write_text(json.dumps(config))
        log = open(self.root / "orthanc.log", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([exe, str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.http_port)
        wait_for_port(self.dicom_port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as resp:
            return json.loads(resp.read())

    def download(self, instance_id: str) -> bytes:
        url = f"http://127.0.0.1:{self.http_port}/instances/{instance_id}/file"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return bytes(resp.read())

    def instances_by_modality(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for iid in self.get("/instances"):
            tags = self.get(f"/instances/{iid}/simplified-tags")
            tags["_id"] = iid
            out.setdefault(tags.get("Modality", ""), []).append(tags)
        return out


@dataclass
class NodeProcess:
    """``spinenode serve`` as a real process with its own data folder and config file."""

    root: Path
    stable_seconds: float = 2.0
    destinations: list[dict[str, Any]] = field(default_factory=list)
    ris: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.root / "node.toml"

    def write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        node = {
            "ae_title": "SPINENODE",
            "port": self.port,
            "data_dir": str(self.root / "var"),
            "stable_seconds": self.stable_seconds,
            "min_free_bytes": 0,
        }
        node.update(self.extra.get("node", {}))
        lines = ["[node]"] + [f"{k} = {_toml(v)}" for k, v in node.items()]
        for section, values in self.extra.items():
            if section == "node":
                continue
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
        if "web" not in self.extra:
            lines += ["[web]", f"port = {self.web_port}"]
        for table, items in (("destinations", self.destinations), ("ris", self.ris)):
            for d in items:
                lines.append(f"[[{table}]]")
                lines += [f"{k} = {_toml(v)}" for k, v in d.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        return self.config_path

    def start(self, *args: str) -> NodeProcess:
        self.write_config()
        env = {**os.environ, **self.env}
        log = open(self.root / "serve.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node", "serve", "--config", str(self.config_path), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_for_port(self.port, timeout=30)
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "node", *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **self.env},
        )

    def studies(self) -> list[dict[str, Any]]:
        out = self.cli("studies", "--json")
        assert out.returncode == 0, out.stderr
        return list(json.loads(out.stdout))

    def log_text(self) -> str:
        return (self.root / "serve.log").read_text(errors="replace")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))
