"""The SCP's fast header reader agrees with pydicom on every real file it accepts."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from dicom_testfiles import dicom_test_file, dicom_test_files
from pydicom import dcmread
from pydicom.filereader import _read_file_meta_info, read_preamble

from node.dicom.fastheader import WANTED, FastHeaderError, encode_file_meta, read_attributes

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data" / "dicom"


def _real_files() -> list[Path]:
    files = dicom_test_files("*.dcm")
    files += [p for p in SHARED.rglob("*") if p.is_file() and p.suffix.lower() in ("", ".dcm")]
    return sorted(files)


def _dataset_bytes(path: Path) -> tuple[bytes, str] | None:
    """The dataset bytes of a DICOM file as a C-STORE would carry them (no preamble or file meta)."""
    try:
        with open(path, "rb") as fp:
            read_preamble(fp, False)
            meta = _read_file_meta_info(fp)
            raw = fp.read()
    except Exception:
        return None
    ts = meta.get("TransferSyntaxUID")
    if ts is None or ts in ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"):
        return None
    return raw, str(ts)


def test_agrees_with_pydicom_on_real_files() -> None:
    checked = 0
    for path in _real_files():
        prepared = _dataset_bytes(path)
        if prepared is None:
            continue
        raw, ts = prepared
        try:
            reference = dcmread(BytesIO(raw), force=True, stop_before_pixels=True)
            _ = [reference[k].value for k in WANTED.values() if k in reference]
        except Exception:
            continue
        try:
            found = read_attributes(raw, ts)
        except FastHeaderError:
            continue  # the SCP then uses pydicom: correct either way
        for keyword in WANTED.values():
            if keyword in reference and keyword != "SpecificCharacterSet":
                expected = str(reference[keyword].value).strip() if reference[keyword].value is not None else ""
                assert found.get(keyword, "") == expected, (path.name, keyword)
        checked += 1
    assert checked >= 40, f"only {checked} real files read"


def test_truncated_and_garbage_data_is_refused() -> None:
    raw, ts = _dataset_bytes(dicom_test_file("MR_small.dcm"))  # type: ignore[misc]
    with pytest.raises(FastHeaderError):
        read_attributes(raw[:30] + b"\xff" * 10, ts)
    with pytest.raises(FastHeaderError):
        read_attributes(b"\x08\x00\x16\x00??" + b"\x00" * 10, ts)
    with pytest.raises(FastHeaderError, match="read with pydicom"):
        read_attributes(raw, "1.2.840.10008.1.2.1.99")


def test_file_meta_round_trip() -> None:
    meta = encode_file_meta(
        "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4", "1.2.840.10008.1.2.4.50", "1.2.826.0.1.3", "X1", "CALLER"
    )
    raw, _ = _dataset_bytes(dicom_test_file("MR_small.dcm"))  # type: ignore[misc]
    ds = dcmread(BytesIO(meta + raw), stop_before_pixels=True)
    fm = ds.file_meta
    assert fm.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
    assert fm.MediaStorageSOPInstanceUID == "1.2.3.4"
    assert fm.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
    assert fm.SourceApplicationEntityTitle == "CALLER"
    assert fm.FileMetaInformationGroupLength == len(meta) - 128 - 4 - 12
