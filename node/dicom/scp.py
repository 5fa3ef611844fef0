"""The storage SCP: C-ECHO and C-STORE, spooling each instance durably before answering.

Handlers only store and answer (style rule 3); everything else happens after the study is stable.
Statuses: 0x0000 success; 0xA700 out of resources (spool below its free-space watermark or a write
error); 0xC210 cannot understand (unparseable dataset, or Study/Series Instance
UID missing); 0xC211 invalid UID (nothing written);
0xA900 dataset does not match the request (SOP Class/Instance UID differ from the C-STORE request).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from io import BytesIO
from typing import Any, cast

from pynetdicom import AE, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION, evt
from pynetdicom import _config as pynetdicom_config
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from node.dicom.contexts import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES, VERIFICATION
from node.dicom.fastheader import FastHeaderError, encode_file_meta, read_attributes
from node.dicom.headers import HeaderError, header_from_mapping, parse_header
from node.dicom.received import Received
from node.dicom.spool import Spool, SpoolFull
from node.dicom.uids import is_valid_uid
from node.stability import AssociationTracker

log = logging.getLogger(__name__)

STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC210
STATUS_INVALID_UID = 0xC211

TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _tune_socket(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if TCP_QUICKACK is not None:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
    except OSError:
        pass


def _assoc_socket(event: Event) -> socket.socket | None:
    try:
        return event.assoc.dul.socket.socket  # type: ignore[union-attr]
    except AttributeError:
        return None


class StorageSCP:
    """The node's DICOM listener. ``on_received`` is called after each durable store."""

    def __init__(
        self,
        *,
        ae_title: str,
        host: str,
        port: int,
        spool: Spool,
        on_received: Callable[[Received], None],
        allowed_calling_aets: list[str] | None = None,
        max_pdu: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.spool = spool
        self.on_received = on_received
        self.tracker = AssociationTracker()
        if not log.isEnabledFor(logging.DEBUG):
            # pynetdicom's standard handlers format every PDU and DIMSE message for its debug log even
            # when nothing is logged: a measurable share of the receive path's CPU.
            pynetdicom_config.LOG_HANDLER_LEVEL = "none"
        ae = AE(ae_title=ae_title)
        ae.maximum_pdu_size = max_pdu
        ae.require_calling_aet = list(allowed_calling_aets or [])
        ae.maximum_associations = 32
        ae.network_timeout = 60
        ae.acse_timeout = 30
        ae.dimse_timeout = 60
        ae.add_supported_context(VERIFICATION)
        for uid in STORAGE_SOP_CLASSES.values():
            ae.add_supported_context(uid, TRANSFER_SYNTAXES)
        self.ae = ae
        self._server: ThreadedAssociationServer | None = None

    # lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, self._on_conn_open),
            (evt.EVT_PDU_RECV, self._rearm_quickack),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_RELEASED, self._on_closed),
            (evt.EVT_ABORTED, self._on_closed),
            (evt.EVT_CONN_CLOSE, self._on_closed),
            (evt.EVT_C_ECHO, lambda event: STATUS_SUCCESS),
            (evt.EVT_C_STORE, self._on_c_store),
        ]
        server = self.ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        assert server is not None
        self._server = server
        self.port = int(server.server_address[1])
        log.info("SCP %s listening on %s:%d", self.ae.ae_title, self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # handlers -----------------------------------------------------------------------------------
    def _on_conn_open(self, event: Event) -> None:
        _tune_socket(_assoc_socket(event))

    def _rearm_quickack(self, event: Event) -> None:
        """Linux leaves quick-ACK mode after a few segments; a sender with Nagle on then waits for our
        delayed ACK (~40 ms) before each small trailing segment. Re-arm after every PDU received."""
        sock = _assoc_socket(event)
        if sock is not None and TCP_QUICKACK is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
            except OSError:
                pass

    def _on_accepted(self, event: Event) -> None:
        self.tracker.opened(id(event.assoc))

    def _on_closed(self, event: Event) -> None:
        self.tracker.closed(id(event.assoc))

    def _on_c_store(self, event: Event) -> int:
        sock = _assoc_socket(event)
        if sock is not None and TCP_QUICKACK is not None:
            try:  # re-arm: the kernel drops back to delayed ACKs after a while
                sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
            except OSError:
                pass
        request = cast(C_STORE, event.request)
        sop_instance_uid = str(request.AffectedSOPInstanceUID or "")
        if not is_valid_uid(sop_instance_uid):
            log.warning("C-STORE refused: invalid SOP Instance UID in request")
            return STATUS_INVALID_UID
        if not self.spool.has_room():
            log.error("C-STORE refused: spool below free-space watermark")
            return STATUS_OUT_OF_RESOURCES
        dataset_bytes = cast(BytesIO, request.DataSet).getvalue()
        transfer_syntax = str(event.context.transfer_syntax)
        try:
            header = header_from_mapping(read_attributes(dataset_bytes, transfer_syntax), transfer_syntax)
        except FastHeaderError:
            try:
                header = parse_header(event.encoded_dataset(include_meta=True))
            except HeaderError as exc:
                log.warning("C-STORE refused: %s", exc)
                return STATUS_CANNOT_UNDERSTAND
        for name, uid in (("StudyInstanceUID", header.study_uid), ("SeriesInstanceUID", header.series_uid)):
            if not uid:
                log.warning("C-STORE refused: %s missing (truncated or incomplete dataset)", name)
                return STATUS_CANNOT_UNDERSTAND
            if not is_valid_uid(uid):
                log.warning("C-STORE refused: invalid %s", name)
                return STATUS_INVALID_UID
        if header.sop_instance_uid != sop_instance_uid or (
            header.sop_class_uid and header.sop_class_uid != str(request.AffectedSOPClassUID)
        ):
            log.warning("C-STORE refused: dataset SOP UIDs do not match the request")
            return STATUS_MISMATCH
        try:
            meta = encode_file_meta(
                str(request.AffectedSOPClassUID),
                sop_instance_uid,
                transfer_syntax,
                PYNETDICOM_IMPLEMENTATION_UID,
                PYNETDICOM_IMPLEMENTATION_VERSION,
                str(event.assoc.requestor.ae_title),
            )
            stored = self.spool.store(header.study_uid, header.series_uid, sop_instance_uid, [meta, dataset_bytes])
        except SpoolFull:
            return STATUS_OUT_OF_RESOURCES
        except OSError:
            log.exception("C-STORE failed: spool write error")
            return STATUS_OUT_OF_RESOURCES
        self.tracker.sent(id(event.assoc), header.study_uid)
        if not stored.duplicate:
            self.on_received(
                Received(
                    header,
                    stored.path,
                    stored.size,
                    calling_aet=str(event.assoc.requestor.ae_title),
                    called_aet=str(event.assoc.acceptor.ae_title),
                )
            )
        return STATUS_SUCCESS
