"""Text files as operators write them: UTF-8 with or without a BOM, UTF-16, Shift_JIS / CP932.

Windows Notepad saves UTF-8 with a BOM or UTF-16; Japanese hospital systems often write Shift_JIS (CP932,
Microsoft's superset). Every text input of the node (findings documents, settings, rules) is read here.
"""

from __future__ import annotations

import codecs
from pathlib import Path

UTF8 = "UTF-8"


class TextEncodingError(ValueError):
    """The bytes are none of the encodings accepted; the message says where decoding failed."""


def decode_text(raw: bytes, *, name: str = "input") -> tuple[str, str]:
    """(text, encoding name) for bytes in UTF-8 (BOM or not), UTF-16 (BOM, or ASCII-first text) or CP932."""
    if raw.startswith(codecs.BOM_UTF8):
        return _decode(raw[len(codecs.BOM_UTF8) :], "utf-8", name), "UTF-8 with BOM"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(raw, "utf-16", name), "UTF-16"
    if len(raw) >= 2 and raw[0] != 0 and raw[1] == 0:  # "{\0" : UTF-16 little endian without a BOM
        return _decode(raw, "utf-16-le", name), "UTF-16LE"
    if len(raw) >= 2 and raw[0] == 0 and raw[1] != 0:
        return _decode(raw, "utf-16-be", name), "UTF-16BE"
    try:
        return raw.decode("utf-8"), UTF8
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("cp932"), "Shift_JIS (CP932)"
        except UnicodeDecodeError:
            bad = raw[utf8_error.start : utf8_error.start + 1].hex()
            raise TextEncodingError(
                f"{name}: not UTF-8, UTF-16 or Shift_JIS/CP932 text (byte 0x{bad} at offset {utf8_error.start}); "
                "save it as UTF-8"
            ) from None


def _decode(raw: bytes, codec: str, name: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise TextEncodingError(
            f"{name}: invalid {codec.upper()} at byte offset {exc.start}; save it as UTF-8"
        ) from None


def read_text(path: str | Path) -> tuple[str, str]:
    """The text of a file and the encoding it was read in (see :func:`decode_text`)."""
    return decode_text(Path(path).read_bytes(), name=str(path))
