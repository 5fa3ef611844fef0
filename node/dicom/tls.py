"""DICOM TLS (PS3.15 Annex B, BCP 195): the SCP's server context from the ``[node]`` settings."""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsSettingsError(ValueError):
    """A TLS setting points at something unusable; the message names the key."""


def server_context(
    certificate: Path | None, private_key: Path | None, ca: Path | None, require_peer_certificate: bool
) -> ssl.SSLContext | None:
    """None when no certificate is configured (plain DICOM)."""
    if certificate is None:
        if private_key is not None or require_peer_certificate:
            raise TlsSettingsError("node.tls_private_key and tls_require_peer_certificate need node.tls_certificate")
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(certificate), str(private_key) if private_key else None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSettingsError(f"node.tls_certificate / tls_private_key: {exc}") from None
    if ca is not None:
        try:
            context.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise TlsSettingsError(f"node.tls_ca: {exc}") from None
    if require_peer_certificate:
        if ca is None:
            raise TlsSettingsError("node.tls_require_peer_certificate needs node.tls_ca")
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(ca: Path | None, certificate: Path | None, private_key: Path | None) -> ssl.SSLContext:
    """For sending to a destination over DICOM TLS: its certificate must chain to ``ca`` (or to the
    system's trust store) and name the host; ``certificate`` is presented when the peer asks for one."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if certificate is not None:
        try:
            context.load_cert_chain(str(certificate), str(private_key) if private_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise TlsSettingsError(f"destinations.tls_certificate / tls_private_key: {exc}") from None
    return context
