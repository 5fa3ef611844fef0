"""A minimal reader for the few top-level attributes the SCP needs, straight from the received bytes.

pydicom's full reader costs more per instance than everything else the SCP does, so the hot path reads
only what it needs: the UIDs that name the spool path and a few study attributes for the registry. It
handles explicit and implicit VR little endian datasets (every syntax the node accepts except deflate;
encapsulated pixel data only comes after the attributes read here). Anything unusual raises
:class:`FastHeaderError` and the caller falls back to pydicom, which is then the judge of a malformed
dataset.
"""

from __future__ import annotations

import struct

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
BIG_ENDIAN = "1.2.840.10008.1.2.2"

#: (group, element) -> keyword of the attributes read here; reading stops after the last one.
WANTED: dict[int, str] = {
    0x00080005: "SpecificCharacterSet",
    0x00080016: "SOPClassUID",
    0x00080018: "SOPInstanceUID",
    0x00080020: "StudyDate",
    0x00080050: "AccessionNumber",
    0x00080060: "Modality",
    0x00080080: "InstitutionName",
    0x00081030: "StudyDescription",
    0x0008103E: "SeriesDescription",
    0x00100010: "PatientName",
    0x00100020: "PatientID",
    0x00100021: "IssuerOfPatientID",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
    0x00200011: "SeriesNumber",
}
LAST = max(WANTED)
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TAG = struct.Struct("<HH")


class FastHeaderError(ValueError):
    """Not something this reader handles; use pydicom."""


def _skip_undefined(data: bytes, pos: int, explicit: bool, end_tag: int, depth: int) -> int:
    """Skip elements or items until ``end_tag`` (item or sequence delimiter); return the position after it."""
    if depth > 16:
        raise FastHeaderError("sequences nested too deep")
    n = len(data)
    while pos + 8 <= n:
        group, elem = _TAG.unpack_from(data, pos)
        tag = group << 16 | elem
        if tag in (_ITEM, _ITEM_END, _SEQ_END):
            length = _U32.unpack_from(data, pos + 4)[0]
            pos += 8
            if tag == end_tag:
                return pos
            if tag == _ITEM:
                pos = (
                    _skip_undefined(data, pos, explicit, _ITEM_END, depth + 1) if length == _UNDEFINED else pos + length
                )
            continue
        pos, _, _ = _element(data, pos, explicit, depth)
    raise FastHeaderError("undefined-length sequence without its delimiter")


def _element(data: bytes, pos: int, explicit: bool, depth: int) -> tuple[int, int, bytes | None]:
    """Read one element at ``pos``: (next position, tag, value bytes or None when skipped)."""
    n = len(data)
    if pos + 8 > n:
        raise FastHeaderError("truncated element header")
    group, elem = _TAG.unpack_from(data, pos)
    tag = group << 16 | elem
    if explicit:
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > n:
                raise FastHeaderError("truncated element header")
            length = _U32.unpack_from(data, pos + 8)[0]
            start = pos + 12
        elif vr.isalpha() and vr.isupper():
            length = _U16.unpack_from(data, pos + 6)[0]
            start = pos + 8
        else:
            raise FastHeaderError(f"bad VR at offset {pos}")
    else:
        length = _U32.unpack_from(data, pos + 4)[0]
        start = pos + 8
    if length == _UNDEFINED:
        if tag == 0x7FE00010:
            raise FastHeaderError("encapsulated pixel data reached")
        return _skip_undefined(data, start, explicit, _SEQ_END, depth + 1), tag, None
    end = start + length
    if end > n:
        raise FastHeaderError(f"element ({group:04X},{elem:04X}) runs past the end of the dataset")
    return end, tag, data[start:end] if tag in WANTED else None


def read_attributes(dataset: bytes, transfer_syntax_uid: str) -> dict[str, str]:
    """The :data:`WANTED` attributes present in a dataset (no file meta) as stripped text."""
    if transfer_syntax_uid in (DEFLATED, BIG_ENDIAN):
        raise FastHeaderError(f"transfer syntax {transfer_syntax_uid} is read with pydicom")
    explicit = transfer_syntax_uid != IMPLICIT_VR_LE
    found: dict[str, str] = {}
    charsets: list[str] = []
    pos, n = 0, len(dataset)
    while pos < n:
        pos, tag, value = _element(dataset, pos, explicit, 0)
        if value is not None:
            text = _text(value, charsets)
            found[WANTED[tag]] = text
            if tag == 0x00080005:
                charsets = [c.strip() for c in text.split("\\")]
        if tag >= LAST:
            break
    return found


def _text(value: bytes, charsets: list[str]) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        from pydicom.charset import decode_bytes

        text = decode_bytes(value, charsets or ["ISO_IR 6"], set())
    return text.rstrip("\x00 ").strip()


def encode_file_meta(
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax_uid: str,
    implementation_class_uid: str,
    implementation_version: str,
    source_ae: str,
) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information group (explicit VR little endian)."""

    def elem(element: int, vr: bytes, value: bytes, pad: bytes) -> bytes:
        if len(value) % 2:
            value += pad
        if vr == b"OB":
            return _TAG.pack(2, element) + vr + b"\0\0" + _U32.pack(len(value)) + value
        return _TAG.pack(2, element) + vr + _U16.pack(len(value)) + value

    body = b"".join(
        (
            elem(0x0001, b"OB", b"\x00\x01", b"\0"),
            elem(0x0002, b"UI", sop_class_uid.encode(), b"\0"),
            elem(0x0003, b"UI", sop_instance_uid.encode(), b"\0"),
            elem(0x0010, b"UI", transfer_syntax_uid.encode(), b"\0"),
            elem(0x0012, b"UI", implementation_class_uid.encode(), b"\0"),
            elem(0x0013, b"SH", implementation_version.encode()[:16], b" "),
            elem(0x0016, b"AE", source_ae.encode()[:16], b" "),
        )
    )
    group_length = _TAG.pack(2, 0) + b"UL" + _U16.pack(4) + _U32.pack(len(body))
    return b"\0" * 128 + b"DICM" + group_length + body
