"""A small C-STORE SCU: send files to a peer, reporting the DIMSE status of each one.

Used by ``spinenode send`` and by delivery. Files are sent as they are stored (no recompression): each
file's own transfer syntax is proposed, with explicit/implicit little endian as fallbacks.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import evt
from pynetdicom.presentation import build_context

from node.dicom.contexts import VERIFICATION
from node.dicom.requestor import WakingAE

log = logging.getLogger(__name__)

SUCCESS_STATUSES = {0x0000, 0xB000, 0xB006, 0xB007}


class AssociationFailed(ConnectionError):
    """The peer could not be reached, rejected the association or aborted it."""


@dataclass(frozen=True)
class StoreOutcome:
    path: Path
    sop_instance_uid: str
    status: int | None  # None: not sent (no accepted context, or the association was lost)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS_STATUSES


def _nodelay(event: evt.Event) -> None:
    try:
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
    except (AttributeError, OSError):
        pass


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files under the given files or folders (sorted), skipping hidden and temporary files."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return found


def parse_destination(text: str) -> tuple[str, str, int]:
    """``AET@HOST:PORT`` -> (ae_title, host, port); the error names what is wrong."""
    if "@" not in text or ":" not in text.rsplit("@", 1)[1]:
        raise ValueError(f"destination {text!r}: expected AET@HOST:PORT")
    aet, rest = text.rsplit("@", 1)
    host, port_text = rest.rsplit(":", 1)
    if not aet or len(aet) > 16:
        raise ValueError(f"destination {text!r}: AE title must be 1-16 characters")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"destination {text!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"destination {text!r}: port {port} out of range")
    return aet, host, port


def echo(ae_title: str, host: str, port: int, *, calling_aet: str = "SPINENODE", timeout: float = 10) -> bool:
    ae = WakingAE(ae_title=calling_aet)
    ae.acse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate(host, port, ae_title=ae_title)
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return bool(status) and status.Status == 0


def _why_not(assoc: Any, seen: set[str], ae_title: str, host: str, port: int, calling_aet: str) -> str:
    """Why no association was made, in words: refused (nothing listens), rejected, or aborted."""
    where = f"{ae_title}@{host}:{port}"
    if "connected" not in seen:
        try:  # learn why the TCP connection failed (refused, unreachable, timed out)
            socket.create_connection((host, port), timeout=5).close()
            detail = "no connection"
        except OSError as exc:
            detail = exc.strerror or type(exc).__name__
        if "refused" in detail.lower():
            return f"connection refused by {host}:{port}: nothing listens there (is the peer running? the port right?)"
        return f"cannot connect to {host}:{port}: {detail}"
    if assoc.is_rejected:
        return (
            f"association rejected by {where}: check that the peer knows the called AE title {ae_title!r} "
            f"and accepts the calling AE title {calling_aet!r}"
        )
    if "accepted" in seen:
        return f"association with {where} aborted: the peer accepted none of the SOP classes and transfer syntaxes"
    return f"association with {where} aborted by the peer (or timed out) before it was accepted"


def send_files(
    files: Sequence[Path],
    ae_title: str,
    host: str,
    port: int,
    *,
    calling_aet: str = "SPINENODE",
    timeout: float = 30,
    progress: Callable[[int, int], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> list[StoreOutcome]:
    """C-STORE each file over one association (DICOM TLS with ``ssl_context``); raise
    :class:`AssociationFailed` if none is made."""
    headers = []
    contexts: dict[tuple[str, str], None] = {}
    for path in files:
        ds = dcmread(path, stop_before_pixels=True)
        ts = str(ds.file_meta.TransferSyntaxUID)
        headers.append((path, str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts))
        contexts[(str(ds.SOPClassUID), ts)] = None
    ae = WakingAE(ae_title=calling_aet)
    ae.acse_timeout = ae.network_timeout = ae.dimse_timeout = timeout
    ae.maximum_pdu_size = 0
    # Per SOP class: one context per stored syntax (so each file goes as it is stored) and one
    # uncompressed fallback for peers that refuse a compressed syntax.
    requested = [build_context(sop_class, ts) for sop_class, ts in contexts]
    for sop_class in dict.fromkeys(sop for sop, _ in contexts):
        requested.append(build_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
    if len(requested) > 128:
        raise ValueError(f"too many distinct SOP class/transfer syntax pairs ({len(requested)} > 128)")
    seen: set[str] = set()
    handlers: list[Any] = [
        (evt.EVT_CONN_OPEN, _nodelay),
        (evt.EVT_CONN_OPEN, lambda event: seen.add("connected")),
        (evt.EVT_ACCEPTED, lambda event: seen.add("accepted")),
    ]
    assoc = ae.associate(
        host,
        port,
        contexts=requested,
        ae_title=ae_title,
        evt_handlers=handlers,
        tls_args=(ssl_context, host) if ssl_context is not None else None,
    )
    if not assoc.is_established:
        raise AssociationFailed(_why_not(assoc, seen, ae_title, host, port, calling_aet))
    outcomes: list[StoreOutcome] = []
    try:
        for index, (path, _sop_class, sop_uid, _ts) in enumerate(headers):
            if not assoc.is_established:
                outcomes.append(StoreOutcome(path, sop_uid, None, "association lost"))
                continue
            try:
                status = assoc.send_c_store(path)
            except ValueError as exc:  # no accepted presentation context for this file
                outcomes.append(StoreOutcome(path, sop_uid, None, str(exc)[:200]))
                continue
            code = int(status.Status) if status and "Status" in status else None
            detail = "" if code is not None else "no response (timeout or abort)"
            outcomes.append(StoreOutcome(path, sop_uid, code, detail))
            if progress:
                progress(index + 1, len(headers))
    finally:
        if assoc.is_established:
            assoc.release()
    return outcomes
