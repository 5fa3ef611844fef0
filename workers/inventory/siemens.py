"""Siemens private headers: the CSA image header and the MrPhoenixProtocol (ASCCONV) text.

CSA headers sit in (0029,xx10) image and (0029,xx20) series under the creator "SIEMENS CSA HEADER";
XA (enhanced) software stores the protocol in (0021,xx19) inside the shared functional groups.
Only the few values the inventory needs are read; nothing here touches pixels.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from pydicom.dataset import Dataset

from workers.inventory.headers import decode_numbers, private_element

_ASCCONV = re.compile(rb"### ASCCONV BEGIN[^\n]*\n(.*?)### ASCCONV END", re.S)
_LINE = re.compile(r"^\s*([A-Za-z0-9_.\[\]]+)\s*=\s*(.*?)\s*(?:#.*)?$")


def parse_ascconv(raw: bytes) -> dict[str, str]:
    """``key = value`` pairs of the first ASCCONV block in ``raw`` (empty when there is none)."""
    match = _ASCCONV.search(raw)
    if match is None:
        return {}
    result: dict[str, str] = {}
    for line in match.group(1).decode("latin-1", errors="replace").splitlines():
        found = _LINE.match(line)
        if found:
            result[found.group(1)] = found.group(2).strip().strip('"')
    return result


def _private_blobs(ds: Dataset, depth: int = 0) -> list[bytes]:
    blobs: list[bytes] = []
    for element in ds:
        if element.VR == "SQ":
            if depth < 2 and element.value:
                blobs.extend(_private_blobs(element.value[0], depth + 1))
            continue
        if not element.tag.is_private:
            continue
        value = element.value
        if isinstance(value, str):
            value = value.encode("latin-1", errors="replace")
        if isinstance(value, bytes) and len(value) > 64:
            blobs.append(value)
    return blobs


def phoenix_protocol(ds: Dataset) -> dict[str, str]:
    """The ASCCONV protocol of a Siemens image (classic CSA series header or XA), or {}."""
    series = private_element(ds, 0x0029, "SIEMENS CSA HEADER", 0x20)
    if isinstance(series, bytes):
        parsed = parse_ascconv(series)
        if parsed:
            return parsed
    for blob in _private_blobs(ds):
        if b"ASCCONV BEGIN" in blob:
            parsed = parse_ascconv(blob)
            if parsed:
                return parsed
    return {}


def parse_csa2(raw: bytes) -> dict[str, list[str]]:
    """Tags of a CSA2 ("SV10") header as lists of strings; {} when the format is not CSA2."""
    if len(raw) < 16 or raw[:4] != b"SV10":
        return {}
    result: dict[str, list[str]] = {}
    try:
        (count,) = struct.unpack_from("<I", raw, 8)
        pos = 16
        for _ in range(min(count, 1000)):
            name = raw[pos : pos + 64].split(b"\x00", 1)[0].decode("latin-1")
            (n_items,) = struct.unpack_from("<i", raw, pos + 76)
            pos += 84
            values: list[str] = []
            for _ in range(max(0, min(n_items, 10000))):
                item_len = struct.unpack_from("<4i", raw, pos)[1]
                pos += 16
                if item_len < 0 or pos + item_len > len(raw):
                    return result
                values.append(raw[pos : pos + item_len].split(b"\x00", 1)[0].decode("latin-1").strip())
                pos += (item_len + 3) // 4 * 4
            result[name] = [v for v in values if v]
    except struct.error:
        return result
    return result


def csa_image_header(ds: Dataset) -> dict[str, list[str]]:
    value = private_element(ds, 0x0029, "SIEMENS CSA HEADER", 0x10)
    return parse_csa2(value) if isinstance(value, bytes) else {}


def csa_number(header: dict[str, list[str]], name: str) -> list[float]:
    values: list[Any] = header.get(name, [])
    return decode_numbers("\\".join(values)) if values else []


def multiband_factor(protocol: dict[str, str]) -> int | None:
    """``sSliceAcceleration.lMultiBandFactor`` from the protocol, None when it is not recorded."""
    value = protocol.get("sSliceAcceleration.lMultiBandFactor")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def diffusion_directions(protocol: dict[str, str]) -> int | None:
    """Number of diffusion directions the protocol prescribes (``sDiffusion.lDiffDirections``)."""
    value = protocol.get("sDiffusion.lDiffDirections")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
