"""Compressed pixel data decodes through the permissively licensed plugins alone (no GPL libjpeg).

The real multi-vendor files of dcm_qa_ts hold one image in every transfer syntax the node accepts; each
compressed one is decoded here with gdcm (RLE with pydicom's own decoder, JPEG-LS also with pyjpegls) and
must equal the uncompressed pixels bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "dicom" / "dcm_qa_ts" / "In"
FILES = sorted(FOLDER.glob("*.dcm"))


def _cases() -> list[tuple[Path, str]]:
    cases = []
    for path in FILES:
        syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
        if syntax.is_compressed:
            cases.append((path, "pydicom" if "RLE" in syntax.name else "gdcm"))  # pydicom's own RLE decoder
            if "JPEG-LS" in syntax.name:
                cases.append((path, "pyjpegls"))
    return cases


@pytest.mark.skipif(not FILES, reason="shared/data/dicom/dcm_qa_ts is not beside the checkout")
@pytest.mark.parametrize(("path", "plugin"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_lossless_syntaxes_decode_bit_for_bit_with_permissive_plugins(path: Path, plugin: str) -> None:
    reference = pydicom.dcmread(FILES[0]).pixel_array  # 1.dcm: explicit VR little endian
    ds = pydicom.dcmread(path)
    ds.pixel_array_options(decoding_plugin=plugin)
    assert np.array_equal(ds.pixel_array, reference), f"{path.name} ({ds.file_meta.TransferSyntaxUID.name})"


def test_every_compressed_syntax_there_is_covered() -> None:
    if not FILES:
        pytest.skip("shared/data/dicom/dcm_qa_ts is not beside the checkout")
    names = {pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID.name for p, _ in _cases()}
    assert any("RLE" in n for n in names) and any("JPEG Lossless" in n for n in names)
    assert any("JPEG-LS" in n for n in names) and any("2000" in n for n in names)
