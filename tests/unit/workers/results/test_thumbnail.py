"""Thumbnails: middle frame, 1st–99th percentile window, MONOCHROME1, colour, compressed real files."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_testfiles import dicom_test_file
from pydicom.dataset import Dataset

from workers.results.thumbnail import thumbnail_from_dataset

TRANSFER_SYNTAX_FILES = sorted(
    (Path(__file__).resolve().parents[5] / "shared" / "data" / "dicom" / "dcm_qa_ts" / "In").glob("*.dcm")
)


def _gray(ds: Dataset, pixels: np.ndarray, photometric: str = "MONOCHROME2") -> Dataset:
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def test_windowing_spans_the_full_range(make_slice) -> None:
    ramp = np.tile(np.arange(0, 1000, 10, dtype=np.uint16), (100, 1))
    ds = _gray(make_slice(2, 1, rows=100, columns=100), ramp)
    del ds.PixelSpacing
    thumbnail = thumbnail_from_dataset(ds, max_size=None)
    assert thumbnail.shape == (100, 100, 3) and thumbnail.dtype == np.uint8
    assert thumbnail[:, 0].max() == 0 and thumbnail[:, -1].min() == 255
    assert np.array_equal(thumbnail[..., 0], thumbnail[..., 2])
    assert np.all(np.diff(thumbnail[0, :, 0].astype(int)) >= 0)


def test_outliers_do_not_flatten_the_picture(make_slice) -> None:
    image = np.tile(np.arange(100, dtype=np.uint16), (100, 1))
    image[0, 0] = 60000  # a single hot pixel beyond the 99th percentile
    ds = _gray(make_slice(2, 1, rows=100, columns=100), image)
    thumbnail = thumbnail_from_dataset(ds, max_size=None)
    assert thumbnail[50, 50, 0] > 100  # mid-grey stays mid-grey


def test_monochrome1_is_inverted(make_slice) -> None:
    ramp = np.tile(np.arange(0, 640, 10, dtype=np.uint16), (64, 1))
    normal = thumbnail_from_dataset(_gray(make_slice(2, 1), ramp), max_size=None)
    inverted = thumbnail_from_dataset(_gray(make_slice(2, 1), ramp, "MONOCHROME1"), max_size=None)
    assert np.array_equal(inverted, 255 - normal)


def test_multiframe_uses_the_middle_frame(make_slice) -> None:
    frames = np.zeros((5, 32, 32), dtype=np.uint16)
    for index in range(5):
        frames[index, :, : 6 * (index + 1)] = 1000  # bright band widens with the frame index
    ds = _gray(make_slice(2, 1, rows=32, columns=32), frames)
    ds.NumberOfFrames = 5
    thumbnail = thumbnail_from_dataset(ds, max_size=None)
    bright_columns = int((thumbnail[0, :, 0] > 128).sum())
    assert bright_columns == 18  # frame 2 of 0..4


def test_aspect_and_size(make_slice) -> None:
    ds = _gray(make_slice(2, 1, rows=40, columns=80), np.arange(3200, dtype=np.uint16).reshape(40, 80))
    ds.PixelSpacing = [1.0, 0.5]  # rows twice as far apart as columns: 40 mm tall, 40 mm wide
    assert thumbnail_from_dataset(ds, max_size=None).shape == (80, 80, 3)
    assert thumbnail_from_dataset(ds, max_size=20).shape == (20, 20, 3)


@pytest.mark.parametrize("path", TRANSFER_SYNTAX_FILES, ids=lambda p: p.name)
def test_real_file_in_every_transfer_syntax(path: Path) -> None:
    reference = thumbnail_from_dataset(pydicom.dcmread(TRANSFER_SYNTAX_FILES[0]))
    thumbnail = thumbnail_from_dataset(pydicom.dcmread(path))
    assert thumbnail.shape == reference.shape == (384, 384, 3)
    assert np.array_equal(thumbnail, reference)  # all nine files hold the same lossless image
    assert thumbnail.std() > 10


def test_real_enhanced_multiframe(real_enhanced_mr_path: Path) -> None:
    ds = pydicom.dcmread(real_enhanced_mr_path)
    thumbnail = thumbnail_from_dataset(ds)
    assert thumbnail.shape[2] == 3 and thumbnail.dtype == np.uint8
    assert thumbnail.shape[:2] == (int(ds.Rows), int(ds.Columns))


def test_colour_jpeg_is_rgb() -> None:
    ds = pydicom.dcmread(dicom_test_file("SC_rgb_jpeg_dcmtk.dcm"))
    thumbnail = thumbnail_from_dataset(ds, max_size=None)
    assert thumbnail.shape == (int(ds.Rows), int(ds.Columns), 3)
    channels = thumbnail.reshape(-1, 3).astype(int)
    assert (np.abs(channels[:, 0] - channels[:, 2]) > 50).any()  # really colour, not grey


def test_invalid_input(make_slice) -> None:
    with pytest.raises(TypeError, match="ds: expected a pydicom Dataset"):
        thumbnail_from_dataset(np.zeros((4, 4)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no pixel data"):
        thumbnail_from_dataset(make_slice(2, 1))
    with pytest.raises(ValueError, match="max_size: 0"):
        thumbnail_from_dataset(make_slice(2, 1, with_pixels=True), max_size=0)
    odd = copy.deepcopy(make_slice(2, 1, with_pixels=True))
    odd.SamplesPerPixel = 2
    odd.PlanarConfiguration = 0
    odd.PixelData = np.zeros((64, 48, 2), dtype=np.uint16).tobytes()
    with pytest.raises(ValueError):
        thumbnail_from_dataset(odd)
