"""DICOM TLS into the node: DCMTK echoscu/storescu with +tls against the SCP, certificates made here."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import dcmtk, free_port
from test_scp import mr_dataset

from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool
from node.dicom.tls import TlsSettingsError, server_context


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(root: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all PEM."""
    root.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=test-ca", cwd=root)  # fmt: skip
    (root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=root)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", "san.cnf", cwd=root)  # fmt: skip
    return root


@pytest.fixture
def tls_scp(tmp_path: Path) -> Iterator[tuple[StorageSCP, Path]]:
    pki = make_pki(tmp_path / "pki")
    context = server_context(pki / "server.crt", pki / "server.key", pki / "ca.crt", True)
    scp = StorageSCP(
        ae_title="SPINENODE",
        host="127.0.0.1",
        port=free_port(),
        spool=Spool(tmp_path / "spool", min_free_bytes=0),
        on_received=lambda item: None,
        ssl_context=context,
    )
    scp.start()
    yield scp, pki
    scp.stop()


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dcmtk(tool), *args], capture_output=True, text=True, timeout=60)


def test_dcmtk_echo_and_store_over_tls(tls_scp: tuple[StorageSCP, Path], tmp_path: Path) -> None:
    scp, pki = tls_scp
    tls = ["+tls", str(pki / "client.key"), str(pki / "client.crt"), "+cf", str(pki / "ca.crt")]
    echo = _run("echoscu", *tls, "-aec", "SPINENODE", "127.0.0.1", str(scp.port))
    assert echo.returncode == 0, echo.stdout + echo.stderr
    ds = mr_dataset()
    path = tmp_path / "one.dcm"
    ds.save_as(path, enforce_file_format=True)
    store = _run("storescu", *tls, "-aec", "SPINENODE", "127.0.0.1", str(scp.port), str(path))
    assert store.returncode == 0, store.stdout + store.stderr
    assert scp.spool.path_for(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID).exists()


def test_plain_and_certificateless_peers_are_refused(tls_scp: tuple[StorageSCP, Path]) -> None:
    scp, pki = tls_scp
    plain = _run("echoscu", "-to", "5", "-aec", "SPINENODE", "127.0.0.1", str(scp.port))
    assert plain.returncode != 0
    anonymous = _run("echoscu", "+tla", "+cf", str(pki / "ca.crt"), "-aec", "SPINENODE", "127.0.0.1", str(scp.port))
    assert anonymous.returncode != 0, "a peer without a certificate is refused when one is required"
    tls = ["+tls", str(pki / "client.key"), str(pki / "client.crt"), "+cf", str(pki / "ca.crt")]
    assert _run("echoscu", *tls, "-aec", "SPINENODE", "127.0.0.1", str(scp.port)).returncode == 0


def test_tls_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(TlsSettingsError, match="tls_certificate"):
        server_context(tmp_path / "missing.crt", None, None, False)
    with pytest.raises(TlsSettingsError, match="tls_ca"):
        pki = make_pki(tmp_path / "pki")
        server_context(pki / "server.crt", pki / "server.key", None, True)


def test_node_delivers_into_orthanc_over_dicom_tls(tmp_path: Path) -> None:
    from peers import Orthanc

    from node.delivery.send import send_to_destination
    from node.settings import DestinationSettings

    pki = make_pki(tmp_path / "pki")
    pacs = Orthanc(
        tmp_path / "orthanc",
        extra={
            "DicomTlsEnabled": True,
            "DicomTlsCertificate": str(pki / "server.crt"),
            "DicomTlsPrivateKey": str(pki / "server.key"),
            "DicomTlsTrustedCertificates": str(pki / "ca.crt"),
            "DicomTlsRemoteCertificateRequired": True,
        },
    ).start()
    try:
        ds = mr_dataset()
        path = tmp_path / "result.dcm"
        ds.save_as(path, enforce_file_format=True)
        base = {"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": pacs.dicom_port}
        plain = DestinationSettings.model_validate(base)
        ok, detail = send_to_destination([path], plain, "SPINENODE")
        assert not ok, "a TLS-only PACS does not take plain DICOM"
        no_cert = DestinationSettings.model_validate({**base, "tls": True, "tls_ca": str(pki / "ca.crt")})
        ok, detail = send_to_destination([path], no_cert, "SPINENODE")
        assert not ok, "Orthanc requires a client certificate"
        dest = DestinationSettings.model_validate(
            {
                **base,
                "tls": True,
                "tls_ca": str(pki / "ca.crt"),
                "tls_certificate": str(pki / "client.crt"),
                "tls_private_key": str(pki / "client.key"),
            }
        )
        ok, detail = send_to_destination([path], dest, "SPINENODE")
        assert ok, detail
        assert pacs.get("/instances"), "the instance arrived"
    finally:
        pacs.stop()


def test_web_app_over_https_sends_hsts(tmp_path: Path) -> None:
    import ssl
    import urllib.request

    from peers import NodeProcess, wait_for_port

    pki = make_pki(tmp_path / "pki")
    node = NodeProcess(
        tmp_path / "node",
        extra={
            "web": {
                "port": free_port(),
                "token": "https-test-token-0123",
                "tls_certificate": str(pki / "server.crt"),
                "tls_private_key": str(pki / "server.key"),
            }
        },
    )
    node.start("--no-worker")
    try:
        port = int(node.extra["web"]["port"])
        wait_for_port(port)
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=context, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    finally:
        node.stop()
