"""Reading header values the way vendors actually store them.

Standard attributes may sit at the top level (classic images) or inside the shared / per-frame
functional groups of enhanced multi-frame images. Private attributes are found through their
private creator (PS3.5 section 7.8.1): the block number is looked up, never assumed. When an
anonymiser has removed the private creator elements but kept the data (common in public test
data), the vendor's usual block 0x10 is used only when the Manufacturer matches that vendor and no
other creator owns the block.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

_FUNCTIONAL_GROUPS = ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")


def _first_item(ds: Dataset, keyword: str) -> Dataset | None:
    seq = ds.get(keyword)
    if seq is None:
        return None
    try:
        return seq[0] if len(seq) else None
    except (TypeError, IndexError):
        return None


def functional_items(ds: Dataset) -> Iterator[Dataset]:
    """The macro items of the shared group and of the first frame (each macro's first item)."""
    for group in _FUNCTIONAL_GROUPS:
        item = _first_item(ds, group)
        if item is None:
            continue
        for element in item:
            if element.VR == "SQ" and element.value:
                yield element.value[0]


def raw_value(ds: Dataset, keyword: str) -> Any:
    """A standard attribute from the top level, else from the functional groups; None if absent."""
    try:
        value = ds.get(keyword)
    except Exception:  # a malformed element must not stop classification
        value = None
    if value not in (None, ""):
        return value
    for item in functional_items(ds):
        try:
            value = item.get(keyword)
        except Exception:
            continue
        if value not in (None, ""):
            return value
    return None


def text(ds: Dataset, keyword: str) -> str:
    """The attribute as one string (multiple values joined with a backslash); empty when absent."""
    value = raw_value(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1", errors="replace").strip("\x00 ")
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def tokens(ds: Dataset, keyword: str) -> list[str]:
    """Upper-case values of a code string attribute such as ImageType or ScanOptions."""
    joined = text(ds, keyword)
    return [t.strip().upper() for t in re.split(r"[\\/,]", joined) if t.strip()]


def number(ds: Dataset, keyword: str) -> float | None:
    """A numeric attribute (first value), None when absent or unreadable."""
    value = raw_value(ds, keyword)
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    return to_float(value)


def to_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result else None  # NaN is not a value


def floats(value: Any) -> list[float] | None:
    """Several numbers from a multi-valued attribute; None when any is unreadable."""
    if value is None:
        return None
    items = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    result = [to_float(v) for v in items]
    if not result or any(v is None for v in result):
        return None
    return [float(v) for v in result if v is not None]


def manufacturer(ds: Dataset) -> str:
    return text(ds, "Manufacturer").upper()


# Which manufacturer strings allow the default-block fallback for a private creator.
_VENDOR_OF_CREATOR: dict[str, tuple[str, ...]] = {
    "GEMS_ACQU_01": ("GE",),
    "GEMS_PARM_01": ("GE",),
    "SIEMENS MR HEADER": ("SIEMENS",),
    "SIEMENS CSA HEADER": ("SIEMENS",),
    "PHILIPS IMAGING DD 001": ("PHILIPS",),
    "PHILIPS MR IMAGING DD 001": ("PHILIPS",),
}


def private_block(ds: Dataset, group: int, creator: str) -> int | None:
    """The block number (0x10..0xFF) reserved by ``creator`` in ``group``, or None."""
    wanted = creator.strip().upper()
    first, last = (group << 16) | 0x10, (group << 16) | 0xFF
    # The creators present, lowest block first (a scan of the dataset's tags, not of 240 possible blocks; the
    # tags compared as plain integers: pydicom's Tag comparisons are Python calls, ~0.3 us each).
    for tag in sorted(t for t in ds.keys() if first <= int(t) <= last):
        block = tag.element
        value = ds[tag].value
        if isinstance(value, bytes):
            value = value.decode("latin-1", errors="replace")
        if str(value).strip("\x00 ").upper() == wanted:
            return block
    return None


def private_element(ds: Dataset, group: int, creator: str, offset: int) -> Any:
    """The raw value of private element (group, block<<8 | offset) for ``creator``; None if absent."""
    if not 0 <= offset <= 0xFF:
        raise ValueError(f"offset must be 0x00..0xFF, got {offset!r}")
    block = private_block(ds, group, creator)
    if block is None:
        vendors = _VENDOR_OF_CREATOR.get(creator.strip().upper(), ())
        if Tag(group, 0x0010) in ds or not any(v in manufacturer(ds) for v in vendors):
            return None
        block = 0x10
    tag = Tag(group, (block << 8) | offset)
    if tag not in ds:
        return None
    try:
        return ds[tag].value
    except Exception:
        return None


def decode_numbers(value: Any, binary: str = "") -> list[float]:
    """Numbers from a private value that may be decoded (IS/DS/FL) or raw bytes (VR UN).

    ``binary`` is the struct code ("f" for FL, "d" for FD) used when raw bytes are not text.
    """
    if value is None:
        return []
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        if binary and len(raw) % struct.calcsize(binary) == 0 and raw:
            count = len(raw) // struct.calcsize(binary)
            return [float(v) for v in struct.unpack(f"<{count}{binary}", raw)]
        value = raw.decode("latin-1", errors="replace").strip("\x00 ")
    if isinstance(value, str):
        parts = [p for p in value.split("\\") if p.strip()]
    elif isinstance(value, MultiValue | list | tuple):
        parts = list(value)
    else:
        parts = [value]
    numbers = [to_float(p) for p in parts]
    return [n for n in numbers if n is not None]


def decode_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1", errors="replace").strip("\x00 ")
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value).strip()
