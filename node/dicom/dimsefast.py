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

Both paths are used only with the pynetdicom whose sources :mod:`node.dicom.reactors` checks, and only
while nothing watches what they skip: no ``EVT_DATA_RECV`` handler and no pynetdicom standard PDU log
handler on receive (those see the PDU's bytes), no ``EVT_DIMSE_SENT`` handler on send (it sees the
message object). Otherwise pynetdicom's own code runs.
"""

from __future__ import annotations

import logging
import struct
import threading
from io import BytesIO
from typing import Any, cast

from pynetdicom import evt
from pynetdicom._handlers import standard_pdu_recv_handler
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_CANCEL, C_STORE, N_EVENT_REPORT
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


def store_request(message: Any) -> C_STORE | None:
    """The C-STORE primitive of a decoded C-STORE-RQ message, read from its encoded command set as
    pynetdicom's ``message_to_primitive`` reads it (the same parameter setters and their checks);
    None for anything unusual (an element it does not know, a multi-valued one, a dataset on file)."""
    if type(message) is not C_STORE_RQ or message._data_set_path or message._data_set_file:
        return None
    data = message.encoded_command_set.getvalue()
    values: dict[str, Any] = {}
    pos, end = 0, len(data)
    while pos < end:
        if pos + 8 > end:
            return None
        group, element, length = _ELEMENT.unpack_from(data, pos)
        start, pos = pos + 8, pos + 8 + length
        if group != 0 or pos > end:
            return None
        if element in _RQ_SKIPPED:
            continue
        name = _RQ_PARAMETERS.get(element)
        if name is None or length == 0:
            return None
        if element in _RQ_US:
            if length != 2:
                return None
            values[name] = data[start] | data[start + 1] << 8
            continue
        raw = data[start:pos]
        if b"\\" in raw:
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
        values[name] = text.strip() if element == 0x1030 else text.rstrip("\0 ")
    primitive = C_STORE()
    for name, value in values.items():
        setattr(primitive, name, value)
    primitive.DataSet = message.data_set
    primitive._context_id = message.context_id
    primitive._dataset_path = None
    primitive._dataset_file = None
    return primitive


class FastDIMSE(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider, collecting datasets as :class:`Fragments` and sending plain C-STORE
    responses encoded by :func:`store_response`."""

    def receive_primitive(self, primitive: P_DATA) -> None:
        # pynetdicom 3.0.4 DIMSEServiceProvider.receive_primitive; the message's dataset is collected as
        # Fragments and a C-STORE request is converted by store_request.
        if self.message is None:
            self.message = DIMSEMessage()
            self.message.data_set = Fragments()
        if self.message.decode_msg(primitive, self.assoc):
            evt.trigger(self.assoc, evt.EVT_DIMSE_RECV, {"message": self.message})
            context_id = cast(int, self.message.context_id)
            try:
                d_primitive = store_request(self.message) or self.message.message_to_primitive()
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

    def send_msg(self, primitive: Any, context_id: int) -> None:
        encoded = None if self.assoc.get_handlers(evt.EVT_DIMSE_SENT) else store_response(primitive)
        max_pdu = self.maximum_pdu_size
        if encoded is None or (max_pdu and len(encoded) > max_pdu - 6):
            super().send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, b"\x03" + encoded))
        self.dul.send_pdu(pdata)
