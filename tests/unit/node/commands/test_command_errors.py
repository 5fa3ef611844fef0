"""Command errors are one line naming what is wrong and what to do, with the right exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dicom_testfiles import dicom_test_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, AllStoragePresentationContexts

from node.cli import main
from workers import __version__

ROOT = Path(__file__).resolve().parents[4]


def _spinenode(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environ.pop("SPINENODE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "node", *args], capture_output=True, text=True, env=environ, timeout=timeout
    )


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_version_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--version"], ["studies", "--version"], ["criteria", "--version"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 0
        assert capsys.readouterr().out.strip() == f"spinenode {__version__}"


def test_help_has_no_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["serve", "--help"], ["inventory", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert ":mod:" not in out and "``" not in out, out
    assert "--log-format" in out


@pytest.mark.parametrize("which", ["dicom", "web"])
def test_serve_with_a_port_in_use_stops_with_one_line(tmp_path: Path, listening: int, which: str) -> None:
    dicom, web = (listening, _free_port()) if which == "dicom" else (_free_port(), listening)
    env = {
        "SPINENODE_NODE__PORT": str(dicom),
        "SPINENODE_WEB__PORT": str(web),
        "SPINENODE_NODE__DATA_DIR": str(tmp_path / "var"),
    }
    done = _spinenode("serve", "--no-worker", env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    setting = "SPINENODE_NODE__PORT" if which == "dicom" else "SPINENODE_WEB__PORT"
    name = "DICOM" if which == "dicom" else "web"
    assert f"the {name} port 127.0.0.1:{listening} is in use" in lines[0] and setting in lines[0]
    assert not (tmp_path / "var").exists(), "nothing was started"


def test_studies_names_the_registry_or_says_there_is_none(tmp_path: Path) -> None:
    done = _spinenode("studies", env={"SPINENODE_NODE__DATA_DIR": str(tmp_path / "elsewhere")})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "no registry here" in done.stderr and "--config" in done.stderr and "defaults" in done.stderr
    from node.registry.db import Registry

    (tmp_path / "var").mkdir()
    Registry(f"sqlite:///{tmp_path / 'var' / 'spinenode.sqlite'}")
    cfg = tmp_path / "node.toml"
    cfg.write_text(f"[node]\ndata_dir = '{tmp_path / 'var'}'\n")
    done = _spinenode("studies", "--config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert f"registry sqlite:///{tmp_path / 'var' / 'spinenode.sqlite'}" in done.stderr
    assert f"from settings {cfg}" in done.stderr
    assert done.stdout.splitlines()[0] == "no studies"
    assert "workers seen in the last 24 h: none" in done.stdout


def test_unknown_setting_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text("[node]\nprot = 11112\n")
    done = _spinenode("studies", "--config", str(cfg))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"spinenode studies: invalid settings in {cfg} and the environment: "
        "node.prot: unknown key (did you mean 'port'?)"
    ]


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    findings = tmp_path / "f.json"
    findings.write_text('{"findings": []}')
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) is already gone: every write meets a broken pipe
    try:
        done = subprocess.run(
            [sys.executable, "-m", "node", "criteria", str(findings), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == "", done.stderr  # no traceback, no "Exception ignored"
    assert done.returncode == 141


def _send(capsys: pytest.CaptureFixture[str], port: int, calling: str = "SPINENODE") -> tuple[int, str]:
    code = main(["send", str(dicom_test_file("MR_small.dcm")), "--to", f"STORE@127.0.0.1:{port}", "--aet", calling])
    return code, capsys.readouterr().err


def test_send_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _send(capsys, _free_port())
    assert code == 1
    assert "connection refused" in err and "nothing listens there" in err and err.count("\n") == 1


def test_send_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    ae = AE(ae_title="STORE")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.require_calling_aet = ["MODALITY"]
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        code, err = _send(capsys, server.server_address[1], calling="STRANGER")
    finally:
        server.shutdown()
    assert code == 1
    assert "association rejected by STORE@127.0.0.1" in err and "'STRANGER'" in err


def test_send_aborted(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.recv(65536)
            conn.close()  # drops the connection without an A-ASSOCIATE response

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        code, err = _send(capsys, server.getsockname()[1])
        thread.join(timeout=10)
    assert code == 1
    assert "aborted" in err and "before it was accepted" in err


def _mr(folder: Path, study: str, series: str, n: int, number: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.SeriesDescription, ds.SeriesNumber = "MR", "Sag T2", number
        ds.save_as(folder / f"im{i}.dcm", enforce_file_format=True)


def test_inventory_counts_lists_and_places_what_it_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study_a, study_b = generate_uid(), generate_uid()
    _mr(tmp_path / "a" / "s1", study_a, generate_uid(), 2, 1)
    _mr(tmp_path / "b" / "s7", study_b, generate_uid(), 3, 7)
    (tmp_path / "b" / "notes.txt").write_text("not DICOM")
    raw = (tmp_path / "a" / "s1" / "im0.dcm").read_bytes()
    (tmp_path / "a" / "s1" / "truncated.dcm").write_bytes(raw[:140])
    no_series = Dataset()
    no_series.file_meta = FileMetaDataset()
    no_series.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    no_series.SOPClassUID, no_series.SOPInstanceUID, no_series.Modality = "1.2.840.10008.5.1.4.1.1.4", "1.2.3", "MR"
    no_series.save_as(tmp_path / "b" / "orphan.dcm", enforce_file_format=True)
    assert main(["inventory", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].startswith("study") and table[0].endswith("folder")
    listed = dict(
        line.removeprefix("study ").split(": ") for line in table if line.startswith("study ") and ": " in line
    )
    rows = {line.split()[-1]: line.split()[0] for line in table[1:3]}
    assert listed[rows[str(Path("a") / "s1")]] == study_a  # the row's study number is its study
    assert listed[rows[str(Path("b") / "s7")]] == study_b
    assert f"skipped: {tmp_path / 'b' / 'notes.txt'}: not DICOM or unreadable" in captured.err
    assert f"skipped: {tmp_path / 'b' / 'orphan.dcm'}: no Series Instance UID" in captured.err
    assert "truncated.dcm" in captured.err
    assert "2 series in 5 files; 3 files skipped" in captured.err


def test_inventory_with_nothing_readable_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    assert main(["inventory", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"spinenode inventory: no DICOM series found under {tmp_path} (1 files skipped)" in err
