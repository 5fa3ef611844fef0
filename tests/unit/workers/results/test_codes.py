"""The private coding scheme: valid code values, every code documented in CODES.md."""

from __future__ import annotations

from pathlib import Path

from pydicom.sr.coding import Code

from workers.results import codes

CODES_MD = Path(codes.__file__).with_name("CODES.md")


def _private_codes() -> list[Code]:
    values = (getattr(codes, name) for name in dir(codes) if name.isupper())
    return [v for v in values if isinstance(v, Code) and v.scheme_designator == codes.PRIVATE_SCHEME]


def test_private_codes_fit_short_string() -> None:
    private = _private_codes()
    assert len(private) >= 6
    for code in private:
        assert 0 < len(code.value) <= 16, code  # Code Value is SH
        assert len(code.meaning) <= 64, code  # Code Meaning is LO


def test_every_private_code_is_documented() -> None:
    text = CODES_MD.read_text(encoding="utf-8")
    for code in _private_codes():
        assert f"| `{code.value}` | {code.meaning} |" in text


def test_coding_scheme_item_declares_the_scheme() -> None:
    item = codes.coding_scheme_item()
    assert item.CodingSchemeDesignator == "99SPINENODE"
    assert item is not codes.coding_scheme_item()  # a new item each time, never shared between objects
