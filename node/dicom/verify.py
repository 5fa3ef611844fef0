"""Is a received dataset one complete, well-formed dataset? Checked before the SCP says success.

Every element header is walked to the end of the bytes in the negotiated transfer syntax, values are
not decoded: each length fits inside its parent, explicit VRs are real VRs, elements the DICOM
dictionary defines as UIDs carry VR UI, tags ascend, every undefined length (sequence, item,
encapsulated pixel data) is closed by its delimiter, the identifying attributes are present and an image
carries pixel data as long as its rows, columns, samples, bits and frames say (native syntaxes). Deflated
datasets are inflated first, never beyond ``max_inflated`` bytes.

The reasons in :class:`DatasetError` name tags and offsets only, never values (they are logged).
"""

from __future__ import annotations

import re
import struct
import zlib

from pydicom.datadict import DicomDictionary

from node.dicom.fastheader import BIG_ENDIAN, DEFLATED, IMPLICIT_VR_LE, WANTED

_VRS = frozenset(
    b"AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)
_LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_UI_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "UI")
_SQ_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_REQUIRED = {
    0x00080016: "SOP Class UID",
    0x00080018: "SOP Instance UID",
    0x0020000D: "Study Instance UID",
    0x0020000E: "Series Instance UID",
}
#: top-level attributes whose position is kept: the ones the SCP reads, and the image geometry
_KEEP = frozenset(WANTED) | {0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100, *_PIXEL_TAGS}
_MAX_DEPTH = 32
_UID_CHARS = re.compile(rb"[0-9.]*[\x00 ]?")
#: syntaxes whose pixel data is native (not encapsulated)
NATIVE_SYNTAXES = frozenset({IMPLICIT_VR_LE, "1.2.840.10008.1.2.1", DEFLATED})
_TAG = struct.Struct("<HH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class DatasetError(ValueError):
    """The bytes are not one complete, well-formed dataset (0xC210)."""


class InvalidUidValue(DatasetError):
    """A UID element holds characters no UID has (0xC211, as for a hostile UID)."""


class InflatedTooLarge(DatasetError):
    """A deflated dataset inflates past the bound (0xA700)."""


def inflate(data: bytes, max_inflated: int) -> bytes:
    """Inflate a Deflated Explicit VR Little Endian dataset, refusing to go past ``max_inflated`` bytes.

    The size is counted first in 1 MiB steps with nothing kept, so a deflate bomb costs no memory."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total, pending = 0, data
    try:
        while pending and not inflater.eof:
            total += len(inflater.decompress(pending, 1 << 20))
            if total > max_inflated:
                raise InflatedTooLarge(f"deflated dataset inflates past {max_inflated} bytes")
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise DatasetError("deflated data is truncated")
        return zlib.decompress(data, -zlib.MAX_WBITS, max(total, 1))
    except zlib.error as exc:
        raise DatasetError(f"deflated data does not inflate ({exc})") from None


class _Walker:
    def __init__(self, data: bytes, explicit: bool) -> None:
        self.data = data
        self.explicit = explicit
        self.top: dict[int, tuple[int, int]] = {}

    def elements(self, pos: int, end: int, explicit: bool, depth: int, *, in_item: bool) -> int:
        """Walk elements from ``pos`` to ``end``; with ``in_item`` and an undefined-length item, up to and
        past its delimiter (``end`` is then the end of the enclosing region)."""
        if depth > _MAX_DEPTH:
            raise DatasetError("sequences nested too deep")
        data = self.data
        last = -1
        while pos < end:
            if pos + 8 > end:
                raise DatasetError(f"truncated element header at offset {pos}")
            group, elem = _TAG.unpack_from(data, pos)
            tag = group << 16 | elem
            if tag == _ITEM_END and in_item:
                return pos + 8
            if group == 0xFFFE:
                raise DatasetError(f"misplaced delimiter ({group:04X},{elem:04X}) at offset {pos}")
            if tag <= last:
                raise DatasetError(f"element ({group:04X},{elem:04X}) out of order at offset {pos}")
            last = tag
            vr = b""
            if explicit:
                vr = data[pos + 4 : pos + 6]
                if vr in _LONG_VRS:
                    if pos + 12 > end:
                        raise DatasetError(f"truncated element header at offset {pos}")
                    length = _U32.unpack_from(data, pos + 8)[0]
                    start = pos + 12
                elif vr in _VRS:
                    length = _U16.unpack_from(data, pos + 6)[0]
                    start = pos + 8
                else:
                    raise DatasetError(f"element ({group:04X},{elem:04X}) has no valid VR")
                if tag in _UI_TAGS and vr not in (b"UI", b"UN"):  # UN: read by the dictionary as UI
                    raise DatasetError(f"UID element ({group:04X},{elem:04X}) has VR {vr.decode('latin-1')}, not UI")
            else:
                length = _U32.unpack_from(data, pos + 4)[0]
                start = pos + 8
            if length == _UNDEFINED:
                if tag in _PIXEL_TAGS and (not explicit or vr in (b"OB", b"OW")):
                    pos = self.fragments(start, end, tag)
                elif explicit and vr not in (b"SQ", b"UN"):
                    raise DatasetError(f"element ({group:04X},{elem:04X}) with VR {vr.decode()} has undefined length")
                else:
                    pos = self.sequence(start, end, explicit and vr != b"UN", depth + 1)
                if depth == 0 and tag in _KEEP:
                    self.top[tag] = (start, -1)
                continue
            value_end = start + length
            if value_end > end:
                raise DatasetError(f"element ({group:04X},{elem:04X}) runs past the end of its dataset")
            if (vr == b"UI" or (not explicit and tag in _UI_TAGS)) and not _UID_CHARS.fullmatch(data, start, value_end):
                raise InvalidUidValue(f"UID element ({group:04X},{elem:04X}) holds characters a UID cannot have")
            if vr == b"SQ" or (not explicit and tag in _SQ_TAGS):
                self.items(start, value_end, explicit, depth + 1)
            if depth == 0 and tag in _KEEP:
                self.top[tag] = (start, length)
            pos = value_end
        if in_item:
            raise DatasetError("undefined-length item not closed")
        return pos

    def item_at(self, pos: int, end: int, explicit: bool, depth: int) -> int:
        length = _U32.unpack_from(self.data, pos + 4)[0]
        if length == _UNDEFINED:
            return self.elements(pos + 8, end, explicit, depth, in_item=True)
        if pos + 8 + length > end:
            raise DatasetError(f"item at offset {pos} runs past the end of its sequence")
        return self.elements(pos + 8, pos + 8 + length, explicit, depth, in_item=False)

    def items(self, pos: int, end: int, explicit: bool, depth: int) -> None:
        """A defined-length sequence value: items that fill it exactly."""
        while pos < end:
            if pos + 8 > end or _tag(self.data, pos) != _ITEM:
                raise DatasetError(f"sequence content at offset {pos} is not an item")
            pos = self.item_at(pos, end, explicit, depth)
        if pos != end:
            raise DatasetError(f"sequence items overrun their sequence at offset {pos}")

    def sequence(self, pos: int, end: int, explicit: bool, depth: int) -> int:
        """An undefined-length sequence: items up to and past the sequence delimiter."""
        while pos + 8 <= end:
            tag = _tag(self.data, pos)
            if tag == _SEQ_END:
                return pos + 8
            if tag != _ITEM:
                raise DatasetError(f"sequence content at offset {pos} is not an item")
            pos = self.item_at(pos, end, explicit, depth)
        raise DatasetError("undefined-length sequence not closed")

    def fragments(self, pos: int, end: int, tag: int) -> int:
        """Encapsulated pixel data: defined-length items up to and past the sequence delimiter."""
        data = self.data
        while pos + 8 <= end:
            item = _tag(data, pos)
            length = _U32.unpack_from(data, pos + 4)[0]
            if item == _SEQ_END:
                return pos + 8
            if item != _ITEM or length == _UNDEFINED or pos + 8 + length > end:
                raise DatasetError(f"pixel data fragment at offset {pos} is malformed or truncated")
            pos += 8 + length
        raise DatasetError("encapsulated pixel data not closed")

    def uint16(self, tag: int, default: int) -> int:
        where = self.top.get(tag)
        if where is None or where[1] < 2:
            return default
        return int(_U16.unpack_from(self.data, where[0])[0])


def _tag(data: bytes, pos: int) -> int:
    group, elem = _TAG.unpack_from(data, pos)
    return int(group << 16 | elem)


def verify_dataset(data: bytes, transfer_syntax_uid: str, *, encapsulated: bool) -> dict[str, str]:
    """Walk the whole dataset (no file meta; already inflated if it was deflated).

    Returns the :data:`node.dicom.fastheader.WANTED` attributes as text; raises :class:`DatasetError`."""
    explicit = transfer_syntax_uid != IMPLICIT_VR_LE
    walker = _Walker(data, explicit)
    walker.elements(0, len(data), explicit, 0, in_item=False)
    top = walker.top
    for tag, name in _REQUIRED.items():
        if tag not in top or top[tag][1] <= 0:
            raise DatasetError(f"{name} missing")
    if 0x00280010 in top:
        pixels = [t for t in _PIXEL_TAGS if t in top]
        if not pixels:
            raise DatasetError("image without pixel data")
        start, length = top[pixels[0]]
        if not encapsulated and pixels[0] == 0x7FE00010:
            if length < 0:
                raise DatasetError("native pixel data with undefined length")
            rows, columns = walker.uint16(0x00280010, 0), walker.uint16(0x00280011, 0)
            samples, bits = walker.uint16(0x00280002, 1), walker.uint16(0x00280100, 16)
            if samples == 3 and _value(data, top, 0x00280004).startswith("YBR_FULL_422"):
                samples = 2  # chroma subsampled horizontally: two samples a pixel on average
            expected_bits = rows * columns * samples * bits * _frames(data, top)
            if length * 8 < expected_bits:
                raise DatasetError("pixel data shorter than its rows, columns, samples, bits and frames")
    found: dict[str, str] = {}
    charsets: list[str] = []
    for tag in sorted(t for t in top if t in WANTED):
        start, length = top[tag]
        text = _text(data[start : start + length], charsets)
        found[WANTED[tag]] = text
        if tag == 0x00080005:
            charsets = [c.strip() for c in text.split("\\")]
    return found


def _text(value: bytes, charsets: list[str]) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        import warnings

        from pydicom.charset import convert_encodings, decode_bytes

        with warnings.catch_warnings():  # pydicom's warnings quote the value: patient data
            warnings.simplefilter("ignore")
            try:
                text = decode_bytes(value, convert_encodings(charsets or ["ISO_IR 6"]), set())
            except (LookupError, ValueError):
                text = value.decode("latin-1")
    return text.rstrip("\x00 ").strip()


def _value(data: bytes, top: dict[int, tuple[int, int]], tag: int) -> str:
    where = top.get(tag)
    if where is None or where[1] <= 0:
        return ""
    return data[where[0] : where[0] + where[1]].decode("latin-1").strip("\x00 ")


def _frames(data: bytes, top: dict[int, tuple[int, int]]) -> int:
    try:
        return max(1, int(_value(data, top, 0x00280008) or 1))
    except ValueError:
        raise DatasetError("Number of Frames is not a number") from None


def verify_received(data: bytes, transfer_syntax_uid: str, *, max_inflated: int, encapsulated: bool) -> dict[str, str]:
    """:func:`verify_dataset` on the bytes as received in the negotiated syntax (inflated if deflated)."""
    if transfer_syntax_uid == BIG_ENDIAN:
        raise DatasetError("big endian datasets are not accepted")
    if transfer_syntax_uid == DEFLATED:
        return verify_dataset(inflate(data, max_inflated), transfer_syntax_uid, encapsulated=False)
    return verify_dataset(data, transfer_syntax_uid, encapsulated=encapsulated)
