"""The storage SCP: C-ECHO and C-STORE, spooling each instance durably before answering.

Handlers only store and answer (style rule 3); everything else happens after the study is stable.
Statuses: 0x0000 success, only for a dataset verified whole (:mod:`node.dicom.verify`) and on disk
(one sync into the association's journal, :mod:`node.dicom.journal`);
0xA700 out of resources (spool below its free-space watermark, a write error, or a deflated dataset
inflating past ``max_inflated_bytes``); 0xC210 cannot understand (not one complete, well-formed
dataset, or an identifying UID missing); 0xC211 invalid UID (nothing written);
0xA900 dataset does not match the request (SOP Class/Instance UID differ from the C-STORE request).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from io import BytesIO
from typing import Any, cast

from pynetdicom import AE, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION, evt
from pynetdicom import _config as pynetdicom_config
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event

from node.dicom.contexts import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES, VERIFICATION
from node.dicom.fastheader import encode_file_meta
from node.dicom.guard import ConnectionListener, GuardedAssociationServer, PeerLimits, start_guarded_server
from node.dicom.headers import HeaderError, header_from_mapping
from node.dicom.journal import Journal
from node.dicom.received import Received
from node.dicom.spool import Spool, SpoolFull
from node.dicom.uids import is_valid_uid
from node.dicom.verify import NATIVE_SYNTAXES, DatasetError, InflatedTooLarge, InvalidUidValue, verify_received
from node.logs.phi import remember
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
        limits: PeerLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        listener: ConnectionListener | None = None,
        max_inflated_bytes: int = 256 << 20,
        hold_seconds: float | None = None,
        audit: Callable[..., None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.spool = spool
        self.on_received = on_received
        self.tracker = AssociationTracker(hold_seconds)
        self.limits = limits or PeerLimits()
        self.ssl_context = ssl_context
        self.audit = audit
        self.listener = listener or (self._gate_refused if audit is not None else None)
        self.max_inflated_bytes = max_inflated_bytes
        self._journals: dict[int, Journal] = {}  # per association, opened at its first C-STORE
        if not log.isEnabledFor(logging.DEBUG):
            # pynetdicom's standard handlers format every PDU and DIMSE message for its debug log even
            # when nothing is logged: a measurable share of the receive path's CPU.
            pynetdicom_config.LOG_HANDLER_LEVEL = "none"
        ae = AE(ae_title=ae_title)
        ae.maximum_pdu_size = max_pdu
        ae.require_calling_aet = list(allowed_calling_aets or [])
        ae.dimse_timeout = 60
        ae.add_supported_context(VERIFICATION)
        for uid in STORAGE_SOP_CLASSES.values():
            ae.add_supported_context(uid, TRANSFER_SYNTAXES)
        self.ae = ae
        self._server: GuardedAssociationServer | None = None

    # lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, self._on_conn_open),
            (evt.EVT_PDU_RECV, self._rearm_quickack),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_RELEASED, self._on_closed),
            (evt.EVT_ABORTED, self._on_closed),
            (evt.EVT_CONN_CLOSE, self._on_closed),
            (evt.EVT_C_ECHO, lambda event: STATUS_SUCCESS),
            (evt.EVT_C_STORE, self._on_c_store),
        ]
        server = start_guarded_server(
            self.ae,
            (self.host, self.port),
            handlers,
            self.limits,
            ssl_context=self.ssl_context,
            listener=self.listener,
        )
        self._server = server
        self.spool.prepare_journal()
        self.port = int(server.server_address[1])
        log.info("SCP %s listening on %s:%d", self.ae.ae_title, self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        for journal in list(self._journals.values()):
            journal.close()
        self._journals.clear()
        self.spool.close_journal()

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
        self._audit_association(event, "success", "accepted")

    def _on_rejected(self, event: Event) -> None:
        self._audit_association(event, "refused", "rejected at association negotiation")

    def _audit_association(self, event: Event, outcome: str, what: str) -> None:
        if self.audit is None:
            return
        assoc = event.assoc
        self.audit(
            "association",
            actor=str(assoc.requestor.ae_title or "-"),
            outcome=outcome,
            peer=str(assoc.requestor.address),
            calling_aet=str(assoc.requestor.ae_title),
            called_aet=str(assoc.acceptor.ae_title),
            result=what,
        )

    def _gate_refused(self, host: str, outcome: str, reason: str) -> None:
        if self.audit is not None:
            self.audit("association", actor="-", outcome="refused", peer=host, result=reason)

    def _on_closed(self, event: Event) -> None:
        self.tracker.closed(id(event.assoc))
        journal = self._journals.pop(id(event.assoc), None)
        if journal is not None:
            journal.close()

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
        try:
            room = self.spool.has_room()
        except OSError as exc:
            log.error("C-STORE refused: spool folder unusable (%s)", exc)
            return STATUS_OUT_OF_RESOURCES
        if not room:
            log.error("C-STORE refused: spool below free-space watermark")
            return STATUS_OUT_OF_RESOURCES
        dataset_bytes = cast(BytesIO, request.DataSet).getvalue()
        transfer_syntax = str(event.context.transfer_syntax)
        try:  # the whole dataset, before anything is written or acknowledged
            attributes = verify_received(
                dataset_bytes,
                transfer_syntax,
                max_inflated=self.max_inflated_bytes,
                encapsulated=transfer_syntax not in NATIVE_SYNTAXES,
            )
        except InflatedTooLarge as exc:
            log.warning("C-STORE refused (out of resources): %s", exc)
            return STATUS_OUT_OF_RESOURCES
        except InvalidUidValue as exc:
            log.warning("C-STORE refused (invalid UID): %s", exc)
            return STATUS_INVALID_UID
        except DatasetError as exc:
            log.warning("C-STORE refused (cannot understand): %s", exc)
            return STATUS_CANNOT_UNDERSTAND
        try:
            header = header_from_mapping(attributes, transfer_syntax)
        except HeaderError as exc:
            log.warning("C-STORE refused: %s", exc)
            return STATUS_CANNOT_UNDERSTAND
        remember(header.patient_name, header.patient_id, header.accession_number)
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
            journal = self._journals.get(id(event.assoc))
            if journal is None:
                journal = self._journals[id(event.assoc)] = self.spool.journal()
            stored = self.spool.store(
                header.study_uid, header.series_uid, sop_instance_uid, [meta, dataset_bytes], journal=journal
            )
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
