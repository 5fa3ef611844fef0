"""The SCP's front door: no peer can hold the association slots it does not use.

pynetdicom gives every TCP connection an association thread and counts it against the association
limit from the moment it is accepted, before anything has been read. Garbage, a truncated
A-ASSOCIATE-RQ or a silent connection therefore held a slot until the ACSE timer ran out, and enough of
them refused every other peer. Here a connection reaches pynetdicom only once a complete, decodable
A-ASSOCIATE-RQ is waiting in its receive buffer (read with ``MSG_PEEK``, so pynetdicom still reads it
itself), within ``acse_timeout`` seconds; until then it costs one small gate thread, and each peer
address may have only ``max_pending_per_peer`` such connections and ``max_per_peer`` in all.
Over TLS the handshake is done here too (with the same deadline), off the accept loop.

It also completes pynetdicom's state table for Sta13 ("awaiting transport close"): when a peer aborts
or sends an unrecognised PDU while the local user is still deciding on its association, the local user's
answer (accept, reject, data, release, abort) arrives in Sta13. PS3.8 defines no action there because
the association no longer exists; pynetdicom raised ``InvalidEventError``, which killed the reactor
thread and left the slot held with the socket open. The answer is now dropped and the state machine
goes on to close the transport as usual.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynetdicom import evt, fsm
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from node.dicom.reactors import wake_on_data

log = logging.getLogger(__name__)

#: A-ASSOCIATE-RJ: rejected-transient, source service-provider (presentation), local limit exceeded.
REJECT_LIMIT = bytes([0x03, 0, 0, 0, 0, 4, 0, 2, 3, 2])
#: A-ABORT from the service provider, reason "unrecognised PDU".
ABORT_UNRECOGNISED = bytes([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 1])
_PDU_HEADER = struct.Struct(">BBI")
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class PeerLimits:
    """How much of the SCP one peer may hold (``[node]`` settings)."""

    acse_timeout: float = 5.0
    idle_timeout: float = 60.0
    max_associations: int = 32
    max_per_peer: int = 16
    max_pending_per_peer: int = 4
    max_associate_rq_bytes: int = 65536


def peer_limits(node: Any) -> PeerLimits:
    """The limits from the ``[node]`` settings."""
    return PeerLimits(
        acse_timeout=node.acse_timeout_seconds,
        idle_timeout=node.idle_timeout_seconds,
        max_associations=node.max_associations,
        max_per_peer=node.max_associations_per_peer,
        max_pending_per_peer=node.max_pending_per_peer,
    )


#: (peer host, outcome, reason) after every connection the gate refused or handed over.
ConnectionListener = Callable[[str, str, str], None]


class ConnectionGate:
    """Counts per peer address: connections not yet associated (pending) and all of them (held)."""

    def __init__(self, limits: PeerLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._held: Counter[str] = Counter()

    def admit(self, host: str) -> str | None:
        """Count a new connection from ``host``; the reason it is refused, or None."""
        with self._lock:
            if self._pending[host] >= self.limits.max_pending_per_peer:
                return f"{self._pending[host]} connections from this address have not yet associated"
            if self._held[host] >= self.limits.max_per_peer:
                return f"{self._held[host]} connections from this address are open"
            if sum(self._held.values()) >= self.limits.max_associations + self.limits.max_pending_per_peer * 4:
                return "too many connections open"
            self._pending[host] += 1
            self._held[host] += 1
            return None

    def associating(self, host: str) -> None:
        with self._lock:
            self._pending[host] -= 1
            if self._pending[host] <= 0:
                del self._pending[host]

    def release(self, host: str, *, pending: bool) -> None:
        with self._lock:
            if pending:
                self._pending[host] -= 1
                if self._pending[host] <= 0:
                    del self._pending[host]
            self._held[host] -= 1
            if self._held[host] <= 0:
                del self._held[host]

    def counts(self) -> tuple[int, int]:
        """(pending, held) over all peers."""
        with self._lock:
            return sum(self._pending.values()), sum(self._held.values())


def await_associate_rq(sock: socket.socket, deadline: float, max_bytes: int) -> str | None:
    """Wait until one whole A-ASSOCIATE-RQ PDU is in the receive buffer, without consuming it.

    Returns None when it is there and decodes, else why the connection is refused."""
    want = 6
    length = -1
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "no complete A-ASSOCIATE-RQ within the ACSE timeout"
        readable, _, _ = select.select([sock], [], [], remaining)
        if not readable:
            continue
        try:
            data = sock.recv(want, socket.MSG_PEEK)
        except OSError as exc:
            return f"connection error ({exc.strerror or exc})"
        if not data:
            return "peer closed the connection before associating"
        if length < 0 and len(data) >= 6:
            pdu_type, _, length = _PDU_HEADER.unpack_from(data)
            if pdu_type != 0x01:
                return f"first PDU is not an A-ASSOCIATE-RQ (type 0x{pdu_type:02X})"
            if not 68 <= length <= max_bytes:
                return f"A-ASSOCIATE-RQ length {length} out of bounds"
            want = 6 + length
        if len(data) >= want and length >= 0:
            try:  # decoded and converted as pynetdicom's reactor will (an error there kills the reactor)
                pdu = A_ASSOCIATE_RQ()
                pdu.decode(data)
                pdu.to_primitive()
            except Exception as exc:  # pynetdicom raises whatever its decoders hit
                return f"A-ASSOCIATE-RQ does not decode ({type(exc).__name__})"
            return None
        time.sleep(_POLL_SECONDS)  # part of the PDU is here: the socket stays readable, so poll


class JoiningRequestHandler(RequestHandler):
    """pynetdicom's handler, but it returns only when the association has ended; its reactor loops wake
    on data (:mod:`node.dicom.reactors`) where the installed pynetdicom allows."""

    def handle(self) -> None:
        assoc = self._create_association()
        wake_on_data(assoc)
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()
        assoc.join()


class GuardedAssociationServer(ThreadedAssociationServer):
    """A threaded association server that admits connections through a :class:`ConnectionGate`."""

    def __init__(
        self,
        *args: Any,
        limits: PeerLimits,
        listener: ConnectionListener | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("request_handler", JoiningRequestHandler)
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.gate = ConnectionGate(limits)
        self.listener = listener

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        # The TLS handshake is done per connection in its own thread, not on the accept loop.
        assert self.socket is not None
        return self.socket.accept()

    def process_request(self, request: Any, client_address: Any) -> None:
        host = str(client_address[0])
        reason = self.gate.admit(host)
        if reason is not None:
            self._refuse(request, host, reason, REJECT_LIMIT)
            return
        threading.Thread(
            target=self._serve, args=(request, client_address, host), name=f"gate-{host}", daemon=True
        ).start()

    def _refuse(self, sock: socket.socket, host: str, reason: str, pdu: bytes | None) -> None:
        log.warning("connection from %s refused: %s", host, reason)
        if pdu is not None and not isinstance(sock, ssl.SSLSocket):
            try:
                sock.setblocking(False)
                sock.send(pdu)
            except OSError:
                pass
        _close(sock)
        if self.listener is not None:
            self.listener(host, "refused", reason)

    def _serve(self, sock: socket.socket, client_address: Any, host: str) -> None:
        pending = True
        try:
            deadline = time.monotonic() + self.limits.acse_timeout
            if self.ssl_context is not None:
                try:
                    sock.settimeout(self.limits.acse_timeout)
                    sock = self.ssl_context.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError) as exc:
                    self._refuse(sock, host, f"TLS handshake failed ({type(exc).__name__})", None)
                    return
                sock.settimeout(None)
            else:
                problem = await_associate_rq(sock, deadline, self.limits.max_associate_rq_bytes)
                if problem is not None:
                    self._refuse(sock, host, problem, ABORT_UNRECOGNISED if "not an" in problem else None)
                    return
            sock.setblocking(True)
            self.gate.associating(host)
            pending = False
            self.finish_request(sock, client_address)
        except Exception:
            log.exception("association from %s ended with an error", host)
        finally:
            _close(sock)
            self.gate.release(host, pending=pending)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _drop_local_primitive(dul: Any) -> str:
    """Sta13 + a local primitive: the association is gone, so the primitive is dropped."""
    try:
        dul.to_provider_queue.get(False)
    except Exception:  # queue.Empty: nothing to drop
        pass
    return "Sta13"


def complete_sta13() -> None:
    """Give Sta13 an action for every local-user event (idempotent)."""
    fsm.ACTIONS.setdefault("AA-9", ("Drop local primitive (no association)", _drop_local_primitive, "Sta13"))
    for event in ("Evt1", "Evt7", "Evt8", "Evt9", "Evt11", "Evt14", "Evt15"):
        fsm.TRANSITION_TABLE.setdefault((event, "Sta13"), "AA-9")


def start_guarded_server(
    ae: Any,
    address: tuple[str, int],
    handlers: list[Any],
    limits: PeerLimits,
    *,
    ssl_context: ssl.SSLContext | None = None,
    listener: ConnectionListener | None = None,
) -> GuardedAssociationServer:
    """Like ``ae.start_server(block=False)``, with the gate in front."""
    complete_sta13()
    ae.maximum_associations = limits.max_associations
    ae.acse_timeout = limits.acse_timeout
    ae.network_timeout = limits.idle_timeout
    server: GuardedAssociationServer = ae.make_server(
        address,
        ssl_context=ssl_context,
        evt_handlers=handlers,
        server_class=GuardedAssociationServer,
        limits=limits,
        listener=listener,
    )
    thread = threading.Thread(target=server.serve_forever, name="dicom-accept", daemon=True)
    thread.start()
    ae._servers.append(server)
    return server
