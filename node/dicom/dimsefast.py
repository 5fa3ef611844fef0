"""The receive path without copies of the dataset, and the C-STORE response without pydicom.

pynetdicom 3.0.4 copies each P-DATA-TF's bytes five times before a handler sees the dataset: the PDU
body appended to its 6-byte header, ``bytes()`` of that, one slice per PDV item, the fragment without its
control byte, and the write into the message's ``BytesIO``. Here the PDU body stays the buffer the socket
read it into (:class:`ReceivedPDU`), each PDV item is a ``memoryview`` into it, and the dataset's fragments
are kept as those views (:class:`Fragments`) and joined once, into one ``bytes``, when the handler asks
for the dataset: one copy between the socket's buffer and the dataset instead of five.

Building and encoding the C-STORE response took most of the DUL thread's CPU per instance: a pydicom
``Dataset`` of seven elements, validated, encoded twice (once for its group length). :func:`store_response`
writes the same bytes directly (a test compares them with pynetdicom's for every status and UID shape).

The C-STORE request's command set is parsed once, here (:func:`store_command`), not decoded into a pydicom
``Dataset`` by pynetdicom's ``decode_msg`` and then read again; the request primitive gets its two UIDs
without pynetdicom's setters (each ran pydicom's UID validation twice and the conformance regex) when
they are plainly conformant. Any command set it does not take as a plain C-STORE request (another
command, a wrong length, a missing, repeated or unknown element, a value the setters would refuse or
warn about) is decoded by pynetdicom's own code, so a malformed one gets the stock path's answer.

These paths are used only with the pynetdicom whose sources :mod:`node.dicom.reactors` checks, and only
while nothing watches what they skip: no ``EVT_DATA_RECV`` handler and no pynetdicom standard PDU log
handler on receive (those see the PDU's bytes), no ``EVT_DIMSE_RECV`` handler (it sees the decoded
command set) and pynetdicom not set to write datasets to a file as they arrive, no ``EVT_DIMSE_SENT``
handler on send (it sees the message object). Otherwise pynetdicom's own code runs.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
from io import BytesIO
from typing import Any, cast

from pydicom.uid import UID
from pynetdicom import _config, evt
from pynetdicom._handlers import standard_pdu_recv_handler
from pynetdicom._validators import validate_ui
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import _MESSAGE_TYPES, C_STORE_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_CANCEL, C_STORE, N_EVENT_REPORT
from pynetdicom.dsutils import decode
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.pdu_items import PresentationDataValueItem
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.utils import make_target

log = logging.getLogger(__name__)

_PDV_LENGTH = struct.Struct(">I")
_ELEMENT = struct.Struct("<HHI")
#: C-STORE-RQ command elements -> the primitive's parameter; the US ones; the ones not copied to it
_RQ_PARAMETERS = {
    0x0002: "AffectedSOPClassUID",
    0x0110: "MessageID",
    0x0700: "Priority",
    0x1000: "AffectedSOPInstanceUID",
    0x1030: "MoveOriginatorApplicationEntityTitle",
    0x1031: "MoveOriginatorMessageID",
}
_RQ_US = frozenset({0x0110, 0x0700, 0x1031})
_RQ_SKIPPED = frozenset({0x0000, 0x0100, 0x0800})
_RQ_REQUIRED = frozenset({0x0000, 0x0002, 0x0100, 0x0110, 0x0700, 0x0800, 0x1000})
_C_STORE_RQ = 0x0001
#: A UID pydicom and pynetdicom both take without a word: digits, no leading zero in a component (the
#: pattern of pydicom's ``UID.is_valid``, matched whole: ``re.match`` with ``$`` also lets a final newline by)
_CONFORMANT_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_US = struct.Struct("<HHIH")  # group, element, length 2, value
_C_STORE_RSP = 0x8001
_NO_DATASET = 0x0101


class ReceivedPDU(bytearray):
    """A PDU's bytes as the socket read them; never written to afterwards, so views of it may be kept."""


def p_data_tf(body: ReceivedPDU) -> P_DATA_TF:
    """A P-DATA-TF PDU from its body (after the 6-byte header), its PDV values views into ``body``.

    Raises ValueError where pynetdicom's decoder fails its item-length assertion (a truncated item)."""
    pdu = P_DATA_TF()
    view = memoryview(body)
    offset, end = 0, len(body)
    while offset < end:
        if offset + 5 > end:
            raise ValueError("truncated presentation data value item")
        length = _PDV_LENGTH.unpack_from(body, offset)[0]
        if length < 1 or offset + 4 + length > end:
            raise ValueError("presentation data value item overruns its PDU")
        item = PresentationDataValueItem()
        item.presentation_context_id = body[offset + 4]
        item.presentation_data_value = view[offset + 5 : offset + 4 + length]  # type: ignore[assignment]
        pdu.presentation_data_value_items.append(item)
        offset += 4 + length
    return pdu


def watches_received_bytes(assoc: Any) -> bool:
    """Whether a bound handler looks at received PDU bytes (then pynetdicom decodes them itself)."""
    if assoc.get_handlers(evt.EVT_DATA_RECV):
        return True
    return any(handler is standard_pdu_recv_handler for handler, _ in assoc.get_handlers(evt.EVT_PDU_RECV))


class Fragments(BytesIO):
    """A message's dataset as the fragments written to it, joined into one ``bytes`` on first use.

    ``write`` keeps a fragment that cannot change (``bytes``, or a view of a :class:`ReceivedPDU`) without
    copying it; anything else is copied. Every other use first joins the fragments into the stream, which
    then behaves as a ``BytesIO`` written with them (``BytesIO`` shares the joined ``bytes``, no copy)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[Any] | None = []

    def write(self, data: Any) -> int:
        parts = self._parts
        if parts is None:
            return super().write(data)
        if isinstance(data, memoryview) and type(data.obj) is ReceivedPDU:
            parts.append(data)
        else:
            parts.append(bytes(data))
        return len(data)

    def _join(self) -> None:
        parts, self._parts = self._parts, None
        if parts:
            joined = b"".join(parts)
            parts.clear()
            BytesIO.__init__(self, joined)
            BytesIO.seek(self, 0, 2)

    def getvalue(self) -> bytes:
        self._join()
        return super().getvalue()


def _joining(name: str) -> Any:
    method = getattr(BytesIO, name)

    def joined_first(self: Fragments, *args: Any, **kwargs: Any) -> Any:
        self._join()
        return method(self, *args, **kwargs)

    joined_first.__name__ = name
    return joined_first


for _name in (
    "getbuffer",
    "read",
    "read1",
    "readinto",
    "readinto1",
    "readline",
    "readlines",
    "seek",
    "tell",
    "truncate",
    "writelines",
    "__iter__",
    "__next__",
    "__getstate__",
):
    setattr(Fragments, _name, _joining(_name))


def _uid_element(element: int, uid: str) -> bytes:
    value = uid.encode("ascii")
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", 0, element, len(value)) + value


def store_response(rsp: Any) -> bytes | None:
    """The command set of a plain C-STORE response (implicit VR little endian), as pynetdicom encodes it;
    None for anything else (a request, an error comment or offending element, a UID missing)."""
    if type(rsp) is not C_STORE or rsp.MessageIDBeingRespondedTo is None or rsp.Status is None:
        return None
    if rsp.OffendingElement is not None or rsp.ErrorComment is not None:
        return None
    if not rsp.AffectedSOPClassUID or not rsp.AffectedSOPInstanceUID:
        return None
    body = b"".join(
        (
            _uid_element(0x0002, str(rsp.AffectedSOPClassUID)),
            _US.pack(0, 0x0100, 2, _C_STORE_RSP),
            _US.pack(0, 0x0120, 2, int(rsp.MessageIDBeingRespondedTo)),
            _US.pack(0, 0x0800, 2, _NO_DATASET),
            _US.pack(0, 0x0900, 2, int(rsp.Status)),
            _uid_element(0x1000, str(rsp.AffectedSOPInstanceUID)),
        )
    )
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def store_command(data: bytes) -> dict[int, Any] | None:
    """The elements of a plain C-STORE-RQ command set (implicit VR little endian) by element number,
    each as pynetdicom's decoder gives its value (the US ones as int, the others as text); None for
    anything else: another command, no dataset, an element missing, repeated, out of order, unknown,
    of the wrong length or multi-valued, text that is not ASCII, a priority the setter refuses."""
    values: dict[int, Any] = {}
    pos, end, last = 0, len(data), -1
    while pos < end:
        if pos + 8 > end:
            return None
        group, element, length = _ELEMENT.unpack_from(data, pos)
        start, pos = pos + 8, pos + 8 + length
        if group != 0 or pos > end or element <= last:
            return None
        last = element
        if element == 0x0000:
            if length != 4:
                return None
            values[element] = int.from_bytes(data[start:pos], "little")
            continue
        if element in (0x0100, 0x0800) or element in _RQ_US:
            if length != 2:
                return None
            values[element] = data[start] | data[start + 1] << 8
            continue
        if element not in _RQ_PARAMETERS or length == 0:
            return None
        raw = data[start:pos]
        if b"\\" in raw:
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
        values[element] = text.strip() if element == 0x1030 else text.rstrip("\0 ")
    if not _RQ_REQUIRED.issubset(values) or values[0x0100] != _C_STORE_RQ or values[0x0800] == _NO_DATASET:
        return None
    if values[0x0700] not in (0, 1, 2):
        return None
    return values


def _set_uid(primitive: C_STORE, name: str, attribute: str, text: str) -> None:
    """``primitive.<name> = text``; a plainly conformant UID is stored as the setter would store it (the
    same ``UID``, pydicom's validation of it passing silently), anything else goes through the setter."""
    if _config.VALIDATORS["UI"] is validate_ui and len(text) < 65 and _CONFORMANT_UID.fullmatch(text):
        setattr(primitive, attribute, str.__new__(UID, text))
    else:
        setattr(primitive, name, text)


def store_primitive(values: dict[int, Any], data_set: Any, context_id: int | None) -> C_STORE:
    """The C-STORE primitive pynetdicom's ``message_to_primitive`` makes of the command set ``values``
    (from :func:`store_command`) and the dataset."""
    primitive = C_STORE()
    _set_uid(primitive, "AffectedSOPClassUID", "_affected_sop_class_uid", values[0x0002])
    primitive.MessageID = values[0x0110]
    primitive.Priority = values[0x0700]
    _set_uid(primitive, "AffectedSOPInstanceUID", "_affected_sop_instance_uid", values[0x1000])
    if 0x1030 in values:
        primitive.MoveOriginatorApplicationEntityTitle = values[0x1030]
    if 0x1031 in values:
        primitive.MoveOriginatorMessageID = values[0x1031]
    primitive.DataSet = data_set
    primitive._context_id = context_id
    primitive._dataset_path = None
    primitive._dataset_file = None
    return primitive


def store_request(message: Any) -> C_STORE | None:
    """The C-STORE primitive of a C-STORE-RQ message from its encoded command set, as pynetdicom's
    ``message_to_primitive`` makes it; None where :func:`store_command` does not take the command set,
    or the dataset is on file."""
    if type(message) is not C_STORE_RQ or message._data_set_path or message._data_set_file:
        return None
    values = store_command(message.encoded_command_set.getvalue())
    if values is None:
        return None
    return store_primitive(values, message.data_set, message.context_id)


def decodes_commands_itself(assoc: Any) -> bool:
    """Whether :class:`FastDIMSE` may read a command set itself: nothing looks at the decoded command
    set (``EVT_DIMSE_RECV``) and datasets are not written to a file as they arrive."""
    return not _config.STORE_RECV_CHUNKED_DATASET and not assoc.get_handlers(evt.EVT_DIMSE_RECV)


class FastDIMSE(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider, collecting datasets as :class:`Fragments` and sending plain C-STORE
    responses encoded by :func:`store_response`."""

    _request: dict[int, Any] | None = None

    def _decode_msg(self, message: DIMSEMessage, primitive: P_DATA) -> bool:
        # pynetdicom 3.0.4 DIMSEMessage.decode_msg without its chunked-dataset branch (not used here, see
        # decodes_commands_itself); a final command fragment is first offered to store_command, and only
        # a command set it does not take is decoded with pydicom, as before.
        if primitive.__class__ != P_DATA or primitive is None:
            return False
        for context_id, data in primitive.presentation_data_value_list:
            control_header_byte = data[0]
            if control_header_byte & 1:
                message.encoded_command_set.write(data[1:])
                if control_header_byte & 2:
                    message.context_id = context_id
                    self._request = values = store_command(message.encoded_command_set.getvalue())
                    if values is not None:
                        message.__class__ = C_STORE_RQ
                        continue
                    message.command_set = decode(message.encoded_command_set, True, True)
                    message.__class__ = _MESSAGE_TYPES[cast(int, message.command_set.CommandField)][1]
                    if message.command_set.CommandDataSetType == 0x0101:
                        return True
            else:
                cast(BytesIO, message.data_set).write(data[1:])
                if control_header_byte & 2 != 0:
                    return True
        return False

    def receive_primitive(self, primitive: P_DATA) -> None:
        # pynetdicom 3.0.4 DIMSEServiceProvider.receive_primitive; the message's dataset is collected as
        # Fragments, and a C-STORE request's command set is read once, by _decode_msg.
        if self.message is None:
            self.message = DIMSEMessage()
            self.message.data_set = Fragments()
            self._request = None
        if decodes_commands_itself(self.assoc):
            complete = self._decode_msg(self.message, primitive)
        else:
            complete = self.message.decode_msg(primitive, self.assoc)
        if complete:
            evt.trigger(self.assoc, evt.EVT_DIMSE_RECV, {"message": self.message})
            context_id = cast(int, self.message.context_id)
            try:
                if self._request is not None:
                    d_primitive: Any = store_primitive(self._request, self.message.data_set, context_id)
                else:
                    d_primitive = self.message.message_to_primitive()
            except Exception as exc:
                log.error("Received an invalid DIMSE message")
                log.exception(exc)
                self.dul.event_queue.put("Evt19")
                return
            if isinstance(d_primitive, C_CANCEL) and len(self.cancel_req) < 10:
                self.cancel_req[d_primitive.MessageIDBeingRespondedTo] = d_primitive  # type: ignore[index]
            elif isinstance(d_primitive, N_EVENT_REPORT) and d_primitive.is_valid_request:
                t = threading.Thread(target=make_target(self.assoc._serve_request), args=(d_primitive, context_id))
                t.start()
            else:
                self.msg_queue.put((context_id, cast(Any, d_primitive)))
            self.message.encoded_command_set = BytesIO()
            self.message.data_set = BytesIO()
            self.message._data_set_file = None
            self.message._data_set_path = None
            self.message = None
            self._request = None

    def send_msg(self, primitive: Any, context_id: int) -> None:
        encoded = None if self.assoc.get_handlers(evt.EVT_DIMSE_SENT) else store_response(primitive)
        max_pdu = self.maximum_pdu_size
        if encoded is None or (max_pdu and len(encoded) > max_pdu - 6):
            super().send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, b"\x03" + encoded))
        self.dul.send_pdu(pdata)
