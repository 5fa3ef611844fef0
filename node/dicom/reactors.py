"""pynetdicom's two reactor loops, woken by the data they wait for instead of a 1 ms polling sleep.

pynetdicom 3.0 runs two loops per association: the DUL reactor (its own thread: reads PDUs, runs the
state machine, sends what the service user queued) and the association reactor (the handler thread:
takes decoded DIMSE messages, answers releases and aborts). Each sleeps 1 ms whenever it finds nothing to
do, so every C-STORE waits up to a millisecond for the DUL to notice the request, another for the
association thread to see the decoded message and another for the DUL to send the response: about 40 %
of the receive path's time on loopback, with no CPU spent.

Here both loops wait on what can give them work: the DUL in ``select`` on its socket and a wake-up
socketpair (written when another thread queues a primitive or asks it to stop, capped by the ARTIM
timer), the association thread on an :class:`threading.Event` set when a DIMSE message, an ACSE
primitive or the DUL's end arrives (capped by the idle timer). Each wait is also capped at
:data:`SAFETY_WAIT` seconds, so a condition nobody signals costs latency, never a hang.

Its socket also reads each PDU into one buffer (:class:`WholeReadSocket`) instead of 4 KiB at a time, and
a C-STORE or C-ECHO request is served in the DUL thread that decoded it (:class:`_ServingQueue`), so an
instance crosses no thread boundary between its last PDU and its response. A P-DATA-TF is decoded where
the socket read it, a C-STORE request read and its response encoded without pydicom
(:mod:`node.dicom.dimsefast`).

The loops are copies of pynetdicom's with only the wait changed, so the hook is installed only for the
pynetdicom whose loop sources it was written against (the SHA-256 of each stock loop's source, and of
the pynetdicom and pydicom functions :mod:`node.dicom.dimsefast` copies or relies on, is checked at start-up); any
other version runs pynetdicom's own loops, with one warning in the log. One place uses it:
:class:`node.dicom.guard.JoiningRequestHandler` converts each new acceptor association with
:func:`wake_on_data` before it starts. The same change, offered upstream: ``docs/upstream-pynetdicom.md``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import queue
import select
import socket
import ssl
import struct
import threading
import time
from typing import Any, cast

import pynetdicom
from pydicom.uid import UID
from pynetdicom import evt
from pynetdicom._validators import validate_ui
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import DIMSEMessage
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ, P_DATA_TF
from pynetdicom.service_class import StorageServiceClass, VerificationServiceClass
from pynetdicom.sop_class import uid_to_service_class
from pynetdicom.transport import AssociationSocket
from pynetdicom.utils import make_target, set_uid

from node.dicom.dimsefast import FastDIMSE, ReceivedPDU, p_data_tf, watches_received_bytes

log = logging.getLogger(__name__)

#: The largest buffer a PDU read starts with; it grows only as the PDU's bytes arrive.
FIRST_READ_BYTES = 1 << 20

#: Longest wait of either loop when nothing signals it (seconds).
SAFETY_WAIT = 0.05

#: SHA-256 of the stock loops' source these copies were made from (pynetdicom 3.0.4).
STOCK_LOOP_SOURCES = {
    "DULServiceProvider.run_reactor": "e3a10eb3a0931e4854af33b9496e92d9679522aca26b0e04da8967559b9e2803",
    "Association._run_reactor": "f28838c5559e462a563750cfc9f3790027f4bb7e2223baf42c9f5d682c359dee",
    "AssociationSocket.recv": "6bc20a33b1b7cfe76d4ad4407ca242563bc6206fde4b4e1cf7a2fbb1f11d621d",
    # copied: WakingDUL._read_pdu_data
    "DULServiceProvider._read_pdu_data": "19f2d4e38c13c83586365d93dd5cd96a0c7c665cb37251054b3e1f246e9f431b",
    # not copied, but relied on by node.dicom.dimsefast (what they call on the objects it replaces)
    "DULServiceProvider._decode_pdu": "fc71dd1bf853e1ce79d29b11731a26a4f6ee9eb697026ad611f8fc91f8aa69c9",
    "P_DATA_TF._generate_items": "55a5deea47745b72b787b1115d198e20ba355947da2ccda92987fd372967a141",
    "P_DATA_TF.to_primitive": "3cba1cd31f03fdf07cab0cdaec8eb85ae5368020e87adf46f46c375ae4ded6b8",
    "DIMSEServiceProvider.receive_primitive": "5f99c86b14a15cefa87d914cda3591ec4d636d4c53a982e945ec9c1828c6e43f",
    "DIMSEServiceProvider.send_msg": "a839cf2fb46976d9da29cf06fea41c04416b38d14fab612af12e5d869bd5b3f0",
    "DIMSEMessage.decode_msg": "f51c777e841a76beeaadfe3015bd4f4a68387229a72f13f3a3b7846d01d72284",
    "DIMSEMessage.message_to_primitive": "f8f43d34e43450efa31bd308677b85b370f8ca7600c0e067e854f8095ce665ac",
    "DIMSEMessage.primitive_to_message": "71fd61d5997f0f0c38abc2d383c4c6457f9c770468288aab04eb82a04d00ce00",
    "DIMSEMessage.encode_msg": "73000c902c52832dab302ddb3bc274ea93d205a810a197225dd87d4c1212ba57",
    "DIMSEMessage._set_command_group_length": "c3057c97344d5db3dc7a084ca5520ff7e04bbc8a07f3738295362c97718e3085",
    # what FastDIMSE.store_primitive does in place of the UID setters (and pydicom's UID it makes)
    "utils.set_uid": "f917a8035170f79262606ce81ff903350ae59d272c75d6d15684d9dcde3d178b",
    "_validators.validate_ui": "3a4aa36750c3c8a5fdd320cd827090d52fe696ef3215eac1958bb28b2ac7c70e",
    "DIMSEPrimitive.AffectedSOPClassUID": "f9bdd6340986b88f1b29da92b9c880ece52bcdf2c4056d0b21a7d3bfce86f9ff",
    "DIMSEPrimitive._AffectedSOPInstanceUID": "45292a0e9b98f9763680b84066a2606920bd38bb38d578c9f6c86fab64e169d9",
    "C_STORE.AffectedSOPInstanceUID": "26553181105568ff33e45a11e20e73ad85da19ed6c2159789035afb2c0732c3d",
    "pydicom.uid.UID.__new__": "608d4e34f388481f712b5c27983a275dd3d5f68a92421ce577615257cefcb836",
}


def _property_setter(cls: type, name: str) -> Any:
    """The setter of the property ``name`` as ``cls`` finds it (for its source)."""
    return cast(property, inspect.getattr_static(cls, name)).fset


def _stock_loops() -> dict[str, Any]:
    return {
        "DULServiceProvider.run_reactor": DULServiceProvider.run_reactor,
        "Association._run_reactor": Association._run_reactor,
        "AssociationSocket.recv": AssociationSocket.recv,
        "DULServiceProvider._read_pdu_data": DULServiceProvider._read_pdu_data,
        "DULServiceProvider._decode_pdu": DULServiceProvider._decode_pdu,
        "P_DATA_TF._generate_items": P_DATA_TF._generate_items,
        "P_DATA_TF.to_primitive": P_DATA_TF.to_primitive,
        "DIMSEServiceProvider.receive_primitive": DIMSEServiceProvider.receive_primitive,
        "DIMSEServiceProvider.send_msg": DIMSEServiceProvider.send_msg,
        "DIMSEMessage.decode_msg": DIMSEMessage.decode_msg,
        "DIMSEMessage.message_to_primitive": DIMSEMessage.message_to_primitive,
        "DIMSEMessage.primitive_to_message": DIMSEMessage.primitive_to_message,
        "DIMSEMessage.encode_msg": DIMSEMessage.encode_msg,
        "DIMSEMessage._set_command_group_length": DIMSEMessage._set_command_group_length,
        "utils.set_uid": set_uid,
        "_validators.validate_ui": validate_ui,
        "DIMSEPrimitive.AffectedSOPClassUID": _property_setter(C_STORE, "AffectedSOPClassUID"),
        "DIMSEPrimitive._AffectedSOPInstanceUID": _property_setter(C_STORE, "_AffectedSOPInstanceUID"),
        "C_STORE.AffectedSOPInstanceUID": _property_setter(C_STORE, "AffectedSOPInstanceUID"),
        "pydicom.uid.UID.__new__": UID.__new__,
    }


def source_digest(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


@functools.cache
def supported() -> bool:
    """True when the installed pynetdicom's loops are the ones copied here (checked once)."""
    try:
        differing = [name for name, loop in _stock_loops().items() if source_digest(loop) != STOCK_LOOP_SOURCES[name]]
    except (OSError, TypeError) as exc:  # no source installed
        log.warning("pynetdicom %s: its loop sources cannot be read (%s); polling loops kept", _version(), exc)
        return False
    if differing:
        log.warning(
            "pynetdicom %s changed %s; its own (polling) loops are used until node/dicom/reactors.py is updated",
            _version(),
            ", ".join(differing),
        )
        return False
    return True


def _version() -> str:
    return str(getattr(pynetdicom, "__version__", "?"))


class _WakingQueue(queue.Queue):
    """A queue that calls ``wake`` after every put; it takes over what ``old`` holds (e.g. the acceptor's
    Evt5, queued when its socket was wrapped)."""

    def __init__(self, wake: Any, old: queue.Queue) -> None:
        super().__init__()
        while True:
            try:
                self.queue.append(old.get(block=False))
            except queue.Empty:
                break
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._wake()


def wake_on_data(assoc: Association) -> bool:
    """Convert a not-yet-started stock association (and its DUL) to the waking loops.

    Returns False, leaving it as it is, when the hook does not fit this pynetdicom or this object."""
    if not supported() or type(assoc) is not Association or type(assoc.dul) is not DULServiceProvider:
        return False
    if assoc.dul.is_alive() or assoc.dul.ident is not None:
        return False
    if type(assoc.dul.socket) is AssociationSocket:
        assoc.dul.socket.__class__ = WholeReadSocket
    assoc.__class__ = WakingAssociation
    cast(WakingAssociation, assoc)._install()
    return True


class WholeReadSocket(AssociationSocket):
    """Reads a PDU's bytes with ``recv_into`` one buffer, as many as the kernel has per call.

    pynetdicom 3.0.4 reads 4096 bytes per ``recv`` and extends a bytearray with each: 128 system calls and
    as many small copies for one 512 KiB PDU, most of the DUL thread's system time."""

    def recv(self, nr_bytes: int) -> ReceivedPDU:
        """The buffer starts at :data:`FIRST_READ_BYTES` at most and doubles as bytes arrive, so a PDU
        length a peer only claims costs no memory (the stock reader grows with the data, too)."""
        sock = cast(socket.socket, self.socket)
        buffer = ReceivedPDU(min(nr_bytes, FIRST_READ_BYTES))
        nr_read = 0
        while nr_read < nr_bytes:
            if nr_read == len(buffer):
                buffer.extend(bytes(min(len(buffer), nr_bytes - nr_read)))
            with memoryview(buffer) as view:
                got = sock.recv_into(view[nr_read:], len(buffer) - nr_read)
            if not got:  # connection broken: what arrived so far, as pynetdicom returns it
                break
            nr_read += got
        if nr_read < len(buffer):
            del buffer[nr_read:]
        return buffer


class WakingDUL(DULServiceProvider):
    """The DUL reactor, waiting in ``select`` on its socket and its wake-up socketpair."""

    _waker_r: socket.socket | None = None
    _waker_w: socket.socket | None = None
    _killed = False

    def _install(self, wake_user: Any) -> None:
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self.event_queue = _WakingQueue(self.wake, self.event_queue)
        self.to_provider_queue = _WakingQueue(self.wake, self.to_provider_queue)
        self.to_user_queue = _WakingQueue(wake_user, self.to_user_queue)
        self._wake_user = wake_user
        # Thread.__init__ bound the stock loop as the target; contextvars are passed as pynetdicom does.
        self._waking_target = make_target(self.run_reactor)

    def run(self) -> None:
        self._waking_target()

    @property
    def _kill_thread(self) -> bool:
        return self._killed

    @_kill_thread.setter
    def _kill_thread(self, value: bool) -> None:
        self._killed = value
        if value:
            self.wake()

    def wake(self) -> None:
        """Make the reactor look at its queues now (from any thread; a no-op from its own)."""
        waker = self._waker_w
        if waker is None or threading.get_ident() == self.ident:
            return
        try:
            waker.send(b"\0")
        except OSError:  # BlockingIOError: a wake-up is already pending; otherwise closed
            pass

    def _wait_for_work(self) -> None:
        """Wait until the socket is readable, another thread woke us, ARTIM expires or SAFETY_WAIT passes."""
        timeout = SAFETY_WAIT
        if self.artim_timer._start_time is not None and self.artim_timer.timeout is not None:
            timeout = max(0.0, min(timeout, self.artim_timer.remaining))
        waker = cast(socket.socket, self._waker_r)
        watched = [waker]
        transport = self.socket
        sock = transport.socket if transport is not None and transport._is_connected else None
        if sock is not None:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return  # decrypted bytes already buffered: select would not see them
            watched.append(sock)
        try:
            readable, _, _ = select.select(watched, [], [], timeout)
        except (OSError, ValueError):  # the socket was closed under us: the loop notices next
            time.sleep(self._run_loop_delay)
            return
        if waker in readable:
            try:
                while waker.recv(4096):
                    pass
            except OSError:  # drained
                pass

    def _read_pdu_data(self) -> None:
        """pynetdicom 3.0.4 ``_read_pdu_data``: a P-DATA-TF body is decoded where the socket read it
        (:func:`node.dicom.dimsefast.p_data_tf`), with no copies; every other PDU, and any PDU while a
        handler watches received bytes, is decoded by pynetdicom as before."""
        transport = self.socket
        if type(transport) is not WholeReadSocket or watches_received_bytes(self.assoc):
            super()._read_pdu_data()
            return
        try:
            header = transport.recv(6)
        except (OSError, TimeoutError) as exc:
            log.error("Connection closed before the entire PDU was received")
            log.exception(exc)
            self.event_queue.put("Evt17")
            return
        try:
            pdu_type, _, pdu_length = struct.unpack(">BBL", header)
        except struct.error:
            self.event_queue.put("Evt17")
            return
        if pdu_type not in (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07):
            log.error(f"Unknown PDU type received '0x{pdu_type:02X}'")
            self.event_queue.put("Evt19")
            return
        try:
            body = transport.recv(pdu_length)
        except (OSError, TimeoutError) as exc:
            log.error("Connection closed before the entire PDU was received")
            log.exception(exc)
            self.event_queue.put("Evt17")
            return
        if len(body) != pdu_length:
            log.error(f"The received PDU is shorter than expected ({6 + len(body)} of {6 + pdu_length} bytes received)")
            self.event_queue.put("Evt17")
            return
        try:
            if pdu_type == 0x04:
                pdu: Any = p_data_tf(body)
                evt.trigger(self.assoc, evt.EVT_PDU_RECV, {"pdu": pdu})
                event = "Evt10"
            else:
                pdu, event = self._decode_pdu(header + body)
            self.event_queue.put(event)
        except Exception as exc:
            log.error("Unable to decode the received PDU data")
            log.exception(exc)
            self.event_queue.put("Evt19")
            return
        self._recv_pdu.put(pdu)

    def run_reactor(self) -> None:
        try:
            self._run_waking_reactor()
        finally:
            for s in (self._waker_r, self._waker_w):
                if s is not None:
                    s.close()
            self._waker_w = None
            self._wake_user()

    def _run_waking_reactor(self) -> None:
        # pynetdicom 3.0.4 DULServiceProvider.run_reactor; only ``time.sleep(delay)`` became a wait.
        self._idle_timer.start()
        self.socket = cast(Any, self.socket)
        sleep = False
        while True:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
                sleep = True
            if sleep:
                self._wait_for_work()
            if self._kill_thread:
                break
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            try:
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception as exc:
                log.error("Exception in DUL.run(), aborting association")
                log.exception(exc)
                abort_pdu = A_ABORT_RQ()
                abort_pdu.source = 0x02
                abort_pdu.reason_diagnostic = 0x00
                self.socket.send(abort_pdu.encode())
                self.assoc.is_aborted = True
                self.assoc.is_established = False
                self.assoc._kill = True
                self._kill_thread = True
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                sleep = True
                continue
            self.state_machine.do_action(event)
            sleep = False


class _ServingQueue(_WakingQueue):
    """The DIMSE message queue: a C-STORE or C-ECHO request completed in the DUL thread is served there
    (see :meth:`WakingAssociation._serves_inline`); anything else is queued for the association thread."""

    def __init__(self, assoc: WakingAssociation, old: queue.Queue) -> None:
        super().__init__(assoc._wake, old)
        self._assoc = assoc

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if self.empty() and self._assoc._serves_inline(item):
            self._assoc._serve_inline(*item)
            return
        super().put(item, block, timeout)


class _Checkpoint(threading.Event):
    """The reactor's pause checkpoint; clearing it wakes the reactor, so that a ``send_*`` method waiting
    for the reactor to pause waits for a thread switch, not for the loop's :data:`SAFETY_WAIT`."""

    def __init__(self, wake: Any, *, set_: bool) -> None:
        super().__init__()
        self._wake_reactor = wake
        if set_:
            self.set()

    def clear(self) -> None:
        super().clear()
        self._wake_reactor()


class WakingAssociation(Association):
    """An association whose reactor waits on an event set when there is something for it to do."""

    _work: threading.Event | None = None
    _killed = False

    def _install(self) -> None:
        self._work = threading.Event()
        self._reactor_checkpoint = _Checkpoint(self._wake, set_=self._reactor_checkpoint.is_set())
        dul = self.dul
        dul.__class__ = WakingDUL
        cast(WakingDUL, dul)._install(self._wake)
        self.dimse.msg_queue = _ServingQueue(self, self.dimse.msg_queue)
        if type(self.dimse) is DIMSEServiceProvider:
            self.dimse.__class__ = FastDIMSE

    def _serves_inline(self, item: Any) -> bool:
        """Whether a decoded request is served in the DUL thread: only C-STORE and C-ECHO on an accepted
        context of an established, unpaused association, whose service classes answer without waiting
        for the DUL. That saves two thread hand-overs per instance (DUL to association thread and back),
        each a wait for the scheduler on a loaded machine."""
        if threading.get_ident() != self.dul.ident or not isinstance(item, tuple) or len(item) != 2:
            return False
        context_id, msg = item
        if not isinstance(msg, (C_STORE, C_ECHO)) or not msg.is_valid_request:
            return False
        if not self.is_established or self._sent_release or not self._reactor_checkpoint.is_set():
            return False
        if context_id not in self._accepted_cx:
            return False
        service = uid_to_service_class(str(msg.AffectedSOPClassUID or ""))
        return issubclass(service, (StorageServiceClass, VerificationServiceClass))

    def _serve_inline(self, context_id: int, msg: Any) -> None:
        """pynetdicom's ``_serve_request`` for a request :meth:`_serves_inline` admitted. An error aborts
        the association from another thread: ``abort`` waits for the DUL, which is this thread."""
        service = uid_to_service_class(str(msg.AffectedSOPClassUID))(self)
        try:
            self.dimse.cancel_req = {}
            service.SCP(msg, self._accepted_cx[context_id])
            self.dimse.cancel_req = {}
        except Exception:
            log.exception("serving a %s request failed; aborting the association", msg.msg_type)
            threading.Thread(target=self.abort, name="abort-association", daemon=True).start()

    @property
    def _kill(self) -> bool:
        return self._killed

    @_kill.setter
    def _kill(self, value: bool) -> None:
        self._killed = value
        if value:
            self._wake()

    def _wake(self) -> None:
        if self._work is not None:
            self._work.set()

    def _wait_for_work(self) -> None:
        timeout = SAFETY_WAIT
        idle = self.dul._idle_timer
        if idle.timeout is not None and idle._start_time is not None:
            timeout = max(0.0, min(timeout, idle.remaining))
        cast(threading.Event, self._work).wait(timeout)

    def _pause_while_checkpoint_cleared(self) -> None:
        """Wait at the checkpoint while a ``send_*`` method holds it cleared.

        The stock loop sets ``_is_paused`` back to False only once it has run again after the checkpoint
        was set. A ``send_*`` called in that window (the next C-STORE right after the last one returned)
        clears the checkpoint, sees the stale True and sends; the loop then takes the peer's response off
        the DIMSE queue ("Received unexpected C-STORE service message") and the sender waits for it until
        the DIMSE timeout aborts the association. Here the loop looks at the checkpoint again after
        saying it runs, and pauses again if it was cleared meanwhile."""
        while True:
            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False
            if self._reactor_checkpoint.is_set():
                return

    def _run_reactor(self) -> None:
        # pynetdicom 3.0.4 Association._run_reactor; ``time.sleep(0.001)`` became a wait for work,
        # skipped after an iteration that served a message (another may be queued behind it).
        work = cast(threading.Event, self._work)
        self._is_paused = False
        idle = False
        while not self._kill:
            if idle:
                self._wait_for_work()
            work.clear()
            self._pause_while_checkpoint_cleared()

            context_id, msg = self.dimse.get_msg(block=False)
            idle = msg is None
            if msg:
                self._serve_request(msg, cast(int, context_id))

            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                log.info("Association Released")
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return

            if self.acse.is_aborted():
                log_msg = "Association Aborted"
                if self.acse.is_aborted("a-p-abort"):
                    log_msg += " (A-P-ABORT)"
                log.info(log_msg)
                self.dul.receive_pdu(wait=False)
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return

            if not self.dul.is_alive():
                self.kill()
                return

            if self.dul.idle_timer_expired():
                log.error("Network timeout reached")
                if self.network_timeout_response == "A-RELEASE":
                    self._is_paused = True
                    self._reactor_checkpoint.wait()
                    self.release()
                    self._is_paused = False
                else:
                    self.abort()
                self.kill()
                return
