"""The copy-free receive path and the hand-encoded C-STORE response give what pynetdicom gives.

The response bytes are compared with pynetdicom's own encoder; the receive path with pynetdicom's own
decoder and, end to end, with the bytes a real pynetdicom SCU sent (small PDUs, so each dataset arrives
in many fragments), with the fast paths installed and with pynetdicom's stock code.
"""

from __future__ import annotations

import struct
import threading
from io import BytesIO
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import C_STORE_RQ, C_STORE_RSP, DIMSEMessage
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.pdu_primitives import P_DATA

from node.dicom import dimsefast, reactors
from node.dicom.dimsefast import (
    FastDIMSE,
    Fragments,
    ReceivedPDU,
    p_data_tf,
    store_command,
    store_request,
    store_response,
)
from node.dicom.guard import PeerLimits, start_guarded_server
from node.dicom.received import Received
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool


def _response(status: int, class_uid: str, instance_uid: str, message_id: int) -> C_STORE:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = message_id
    rsp.AffectedSOPClassUID = class_uid
    rsp.AffectedSOPInstanceUID = instance_uid
    rsp.Status = status
    return rsp


@pytest.mark.parametrize("status", [0x0000, 0xA700, 0xA900, 0xC210, 0xC211])
@pytest.mark.parametrize("instance_uid", ["1.2.3", "1.2.34", "1.2.840.10008.99." + "7" * 40])
def test_the_store_response_is_encoded_as_pynetdicom_encodes_it(status: int, instance_uid: str) -> None:
    rsp = _response(status, MRImageStorage, instance_uid, 65535)
    message = C_STORE_RSP()
    message.primitive_to_message(rsp)
    (stock,) = list(message.encode_msg(1, 0))
    assert stock.presentation_data_value_list == [(1, b"\x03" + store_response(rsp))]


def test_a_response_with_an_error_comment_is_left_to_pynetdicom() -> None:
    rsp = _response(0xC210, MRImageStorage, "1.2.3", 1)
    assert store_response(rsp) is not None
    rsp.ErrorComment = "cannot understand"
    assert store_response(rsp) is None
    request = C_STORE()
    request.MessageID = 1
    assert store_response(request) is None


def _pdu_body(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack(">IB", len(value) + 1, cid) + value for cid, value in items)


def test_a_p_data_tf_body_decodes_as_pynetdicom_decodes_it() -> None:
    items = [(1, b"\x03" + b"c" * 17), (3, b"\x00" + bytes(range(256)) * 3), (5, b"\x02")]
    body = _pdu_body(items)
    stock = P_DATA_TF()
    stock.decode(struct.pack(">BBI", 4, 0, len(body)) + body)
    fast = p_data_tf(ReceivedPDU(body))
    assert [(i, bytes(v)) for i, v in fast.to_primitive().presentation_data_value_list] == [
        (i, bytes(v)) for i, v in stock.to_primitive().presentation_data_value_list
    ]
    with pytest.raises(ValueError):
        p_data_tf(ReceivedPDU(body[:-1]))
    with pytest.raises(ValueError):
        p_data_tf(ReceivedPDU(struct.pack(">IB", 0, 1)))


def test_fragments_keep_received_views_copy_the_rest_and_join_once() -> None:
    pdu = ReceivedPDU(b"xxABCDEF")
    mutable = bytearray(b"GH")
    stream = Fragments()
    stream.write(memoryview(pdu)[2:5])
    stream.write(memoryview(pdu)[5:])
    stream.write(mutable)
    mutable[:] = b"!!"  # a buffer that may change is copied when written
    assert stream.getvalue() == b"ABCDEFGH"
    assert stream.tell() == 8
    stream.seek(0)
    assert stream.read(3) == b"ABC"
    reread = Fragments()
    reread.write(b"12")
    reread.write(b"34")
    assert reread.seek(0) == 0 and reread.read() == b"1234"
    assert isinstance(reread, BytesIO)


def _dataset(rows: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID = "MR", "X"
    ds.Rows = ds.Columns = rows
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = bytes(range(256)) * (rows * rows * 2 // 256)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _store_over_small_pdus(tmp_path: Path, count: int) -> tuple[list[bytes], list[Received]]:
    """``count`` C-STOREs from a pynetdicom SCU with a 4 KiB maximum PDU (the SCP's limit): what was
    sent (dataset bytes) and what the SCP recorded."""
    received: list[Received] = []
    scp = StorageSCP(
        ae_title="SPINENODE", host="127.0.0.1", port=0, spool=Spool(tmp_path), on_received=received.append, max_pdu=4096
    )
    scp.start()
    try:
        ae = AE(ae_title="SCU")
        ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", scp.port, ae_title="SPINENODE")
        assert assoc.is_established
        sent = []
        for _ in range(count):
            ds = _dataset(64)
            sent.append(bytes(encode(ds, False, True) or b""))  # the dataset as pynetdicom sends it
            assert assoc.send_c_store(ds).Status == 0
        assoc.release()
    finally:
        scp.stop()
    return sent, received


def test_datasets_in_many_fragments_are_stored_byte_for_byte(tmp_path: Path) -> None:
    sent, received = _store_over_small_pdus(tmp_path, 3)
    assert len(received) == 3
    for data, item in zip(sent, received, strict=True):
        stored = item.path.read_bytes()
        assert stored.endswith(data) and stored[128:132] == b"DICM"


def test_the_stored_bytes_are_the_same_with_pynetdicoms_own_receive_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[type] = []
    stock_wake = reactors.wake_on_data

    def wake(assoc: object) -> bool:
        installed = stock_wake(assoc)  # type: ignore[arg-type]
        served.append(type(assoc.dimse))  # type: ignore[attr-defined]
        return installed

    monkeypatch.setattr("node.dicom.guard.wake_on_data", wake)
    decoded: list[int] = []

    def counting_p_data_tf(body: ReceivedPDU) -> P_DATA_TF:
        decoded.append(len(body))
        return p_data_tf(body)

    monkeypatch.setattr(reactors, "p_data_tf", counting_p_data_tf)
    requests: list[object] = []

    def counting_store_command(data: bytes) -> dict[int, object] | None:
        values = store_command(data)
        requests.append(values)
        return values

    monkeypatch.setattr(dimsefast, "store_command", counting_store_command)
    sent, received = _store_over_small_pdus(tmp_path / "fast", 2)
    assert served == [FastDIMSE]
    assert len(requests) == 2 and None not in requests, "both command sets were read once, without pydicom"
    assert len(decoded) > 2 * 64 * 64 * 2 // 4096, "every P-DATA-TF went through the copy-free decoder"
    assert [r.path.read_bytes()[-len(d) :] for r, d in zip(received, sent, strict=True)] == sent
    decoded_fast = len(decoded)
    monkeypatch.setattr(reactors, "supported", lambda: False)
    sent, received = _store_over_small_pdus(tmp_path / "stock", 2)
    assert served[-1] is not FastDIMSE
    assert len(decoded) == decoded_fast, "pynetdicom's own decoder ran"
    assert len(requests) == 2, "and pynetdicom's own command set decoding"
    assert [r.path.read_bytes()[-len(d) :] for r, d in zip(received, sent, strict=True)] == sent


def test_a_handler_watching_received_bytes_gets_pynetdicoms_decoder(tmp_path: Path) -> None:
    seen: list[int] = []
    ae = AE(ae_title="SCP")
    ae.add_supported_context(MRImageStorage, ExplicitVRLittleEndian)

    def on_store(event: evt.Event) -> int:
        seen.append(len(event.request.DataSet.getvalue()))
        return 0

    server = start_guarded_server(
        ae,
        ("127.0.0.1", 0),
        [(evt.EVT_C_STORE, on_store), (evt.EVT_DATA_RECV, lambda event: seen.append(-len(event.data)))],
        PeerLimits(),
    )
    try:
        scu = AE(ae_title="SCU")
        scu.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
        assoc = scu.associate("127.0.0.1", int(server.server_address[1]))
        ds = _dataset(16)
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
    finally:
        server.shutdown()
    assert any(n < 0 for n in seen), "EVT_DATA_RECV saw the PDUs' bytes"
    assert [n for n in seen if n > 0] and min(n for n in seen if n > 0) > 16 * 16 * 2


def _decoded_request(rq: C_STORE) -> C_STORE_RQ:
    message = C_STORE_RQ()
    message.primitive_to_message(rq)
    received = DIMSEMessage()
    for pdata in message.encode_msg(1, 0):
        received.decode_msg(pdata)
    return received


@pytest.mark.parametrize("move", [False, True])
@pytest.mark.parametrize("instance_uid", ["1.2.3", "1.2.34"])
def test_a_store_request_is_read_as_pynetdicom_reads_it(move: bool, instance_uid: str) -> None:
    rq = C_STORE()
    rq.MessageID, rq.Priority = 7, 2
    rq.AffectedSOPClassUID, rq.AffectedSOPInstanceUID = MRImageStorage, instance_uid
    rq.DataSet = BytesIO(b"\x08\x00\x18\x00")
    if move:
        rq.MoveOriginatorApplicationEntityTitle, rq.MoveOriginatorMessageID = "MOVER", 65535
    fast, stock = store_request(_decoded_request(rq)), _decoded_request(rq).message_to_primitive()
    assert fast is not None
    for name in [*(k for k in C_STORE.REQUEST_KEYWORDS if k != "DataSet"), "_context_id"]:
        assert getattr(fast, name) == getattr(stock, name), name
        assert type(getattr(fast, name)) is type(getattr(stock, name)), name
    assert type(fast.AffectedSOPInstanceUID) is UID
    assert fast.DataSet.getvalue() == stock.DataSet.getvalue() == b"\x08\x00\x18\x00"


def test_a_request_with_an_unknown_command_element_is_left_to_pynetdicom() -> None:
    rq = C_STORE()
    rq.MessageID, rq.Priority = 7, 0
    rq.AffectedSOPClassUID, rq.AffectedSOPInstanceUID = MRImageStorage, "1.2.3"
    rq.DataSet = BytesIO(b"\x08\x00\x18\x00")
    message = _decoded_request(rq)
    data = message.encoded_command_set.getvalue()
    message.encoded_command_set = BytesIO(data + struct.pack("<HHI", 0, 0x0901, 2) + b"\x01\x00")
    assert store_request(message) is None
    message.encoded_command_set = BytesIO(data[:-3])  # truncated
    assert store_request(message) is None


def test_a_claimed_pdu_length_costs_only_the_bytes_that_arrive() -> None:
    """A peer may announce a 4 GiB PDU and send ten bytes: the read returns those ten, having grown its
    buffer only with them (a buffer of the claimed size would be a MemoryError or 4 GiB resident)."""
    import socket

    ours, peer = socket.socketpair()
    try:
        reader = reactors.WholeReadSocket.__new__(reactors.WholeReadSocket)
        reader.socket = ours
        peer.sendall(b"0123456789")
        peer.close()
        got = reader.recv(0xFFFFFFFF)
        assert got == b"0123456789" and type(got) is ReceivedPDU
        peer2, ours2 = socket.socketpair()
        reader.socket = ours2
        whole = bytes(range(256)) * (3 * reactors.FIRST_READ_BYTES // 256 + 1)
        sender = threading.Thread(target=peer2.sendall, args=(whole,))
        sender.start()
        assert reader.recv(len(whole)) == whole  # grown twice past the first read
        sender.join()
        peer2.close()
        ours2.close()
    finally:
        ours.close()


def _command_set(rq: C_STORE) -> bytes:
    message = C_STORE_RQ()
    message.primitive_to_message(rq)
    (pdata,) = list(message.encode_msg(1, 0))[:1]
    cid, value = pdata.presentation_data_value_list[0]
    return bytes(value[1:])


def _element(element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", 0, element, len(value)) + value


def _elements(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        _, element, length = struct.unpack_from("<HHI", data, pos)
        out.append((element, data[pos + 8 : pos + 8 + length]))
        pos += 8 + length
    return out


def _rebuilt(data: bytes, change: dict[int, bytes | None]) -> bytes:
    """The command set with elements replaced (None: removed), its group length recomputed."""
    body = b"".join(
        _element(e, change.get(e, v) or b"") for e, v in _elements(data) if e != 0 and change.get(e, v) is not None
    )
    return _element(0, struct.pack("<I", len(body))) + body


def _plain_command_set() -> bytes:
    rq = C_STORE()
    rq.MessageID, rq.Priority = 7, 0
    rq.AffectedSOPClassUID, rq.AffectedSOPInstanceUID = MRImageStorage, "1.2.3"
    rq.DataSet = BytesIO(b"\x08\x00\x18\x00")
    return _command_set(rq)


_PLAIN = _plain_command_set()
_HOSTILE = {
    "truncated": _PLAIN[:-3],
    "an element overrunning the set": _PLAIN[:-8] + struct.pack("<HHI", 0, 0x1000, 200) + b"1.2.3\0",
    "no command field": _rebuilt(_PLAIN, {0x0100: None}),
    "no dataset type": _rebuilt(_PLAIN, {0x0800: None}),
    "no instance UID": _rebuilt(_PLAIN, {0x1000: None}),
    "no class UID": _rebuilt(_PLAIN, {0x0002: None}),
    "no message ID": _rebuilt(_PLAIN, {0x0110: None}),
    "an unknown command": _rebuilt(_PLAIN, {0x0100: b"\xff\x0f"}),
    "a C-ECHO with a dataset": _rebuilt(_PLAIN, {0x0100: b"\x30\x00"}),
    "no dataset": _rebuilt(_PLAIN, {0x0800: b"\x01\x01"}),
    "a priority out of range": _rebuilt(_PLAIN, {0x0700: b"\x07\x00"}),
    "a four-byte message ID": _rebuilt(_PLAIN, {0x0110: b"\x07\x00\x00\x00"}),
    "a UID of 65 characters": _rebuilt(_PLAIN, {0x1000: b"1." + b"2" * 63 + b"\0"}),
    "a non-conformant UID": _rebuilt(_PLAIN, {0x1000: b"1.02.3"}),
    "a UID with a newline": _rebuilt(_PLAIN, {0x1000: b"1.2.3\n"}),
    "a UID of letters": _rebuilt(_PLAIN, {0x1000: b"1.2.abc\0"}),
    "two instance UIDs": _rebuilt(_PLAIN, {0x1000: b"1.2.3\\1.2.4\0"}),
    "an empty instance UID": _rebuilt(_PLAIN, {0x1000: b""}),
    "a UID not in ASCII": _rebuilt(_PLAIN, {0x1000: "1.2.3é".encode()}),
    "an element of another group": _PLAIN + struct.pack("<HHI", 8, 0x0018, 2) + b"1\0",
    "an element repeated": _PLAIN + _element(0x1000, b"1.2.4\0"),
    "an unknown element": _PLAIN + _element(0x0901, b"\x01\x00"),
}
#: The ones store_command takes, leaving the values' checks to pynetdicom's setters (as in the stock path).
_TAKEN = {"a UID of 65 characters", "a non-conformant UID", "a UID with a newline", "a UID of letters"}


def _outcome(provider_type: type[DIMSEServiceProvider], command_set: bytes) -> tuple[object, ...]:
    """What a DIMSE provider makes of one message (the command set, then a small dataset): the exception
    it raises, the events it queued for the DUL, the primitive it queued (class and every parameter)."""
    assoc = Association(AE(ae_title="SCP"), "acceptor")
    provider = provider_type(assoc)
    pdata = P_DATA()
    pdata.presentation_data_value_list = [[1, b"\x03" + command_set], [1, b"\x02" + b"\x08\x00\x18\x00"]]
    try:
        provider.receive_primitive(pdata)
        raised = None
    except Exception as exc:  # the stock decoder raises for some; the fast path must raise the same
        raised = type(exc).__name__
    events = list(assoc.dul.event_queue.queue)
    queued = []
    for context_id, primitive in list(provider.msg_queue.queue):
        params = {k: (type(getattr(primitive, k)), getattr(primitive, k)) for k in primitive.REQUEST_KEYWORDS}
        data_set = getattr(primitive, "DataSet", None)
        params["DataSet"] = (isinstance(data_set, BytesIO), data_set and data_set.getvalue())
        queued.append((context_id, type(primitive), params, primitive.is_valid_request))
    return raised, events, queued


@pytest.mark.parametrize("case", sorted(_HOSTILE))
def test_a_hostile_command_set_gets_what_pynetdicom_gives_it(case: str) -> None:
    """The fast path refuses every unusual command set (pynetdicom decodes it), or takes it and leaves
    the values to pynetdicom's setters; either way the provider does what pynetdicom's own does."""
    data = _HOSTILE[case]
    assert (store_command(data) is not None) is (case in _TAKEN)
    assert reactors.supported()
    fast, stock = _outcome(FastDIMSE, data), _outcome(DIMSEServiceProvider, data)
    assert fast == stock


def test_a_plain_command_set_is_read_once_to_the_same_primitive(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[object] = []
    monkeypatch.setattr(dimsefast, "decode", lambda *a: decoded.append(a))
    fast = _outcome(FastDIMSE, _PLAIN)
    assert decoded == [], "no pydicom decoding of the command set"
    monkeypatch.undo()
    stock = _outcome(DIMSEServiceProvider, _PLAIN)
    assert fast == stock and fast[2] and fast[0] is None


def test_a_handler_watching_decoded_messages_gets_pynetdicoms_decoding() -> None:
    assoc = Association(AE(ae_title="SCP"), "acceptor")
    seen: list[object] = []
    assoc.bind(evt.EVT_DIMSE_RECV, lambda event: seen.append(event.message.command_set.AffectedSOPInstanceUID))
    provider = FastDIMSE(assoc)
    pdata = P_DATA()
    pdata.presentation_data_value_list = [[1, b"\x03" + _PLAIN], [1, b"\x02" + b"\x08\x00\x18\x00"]]
    provider.receive_primitive(pdata)
    assert seen == ["1.2.3"]
