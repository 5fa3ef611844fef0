"""A volume built from headers (read with ``stop_before_pixels``, as the pipeline holds them) reads its
pixels from the files and equals the volume built from the full datasets: same float32 values after the
rescale, same geometry and order; the headers are left without pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from workers.analysis.volume import GeometryError, load_volume, stored_pixels
from workers.phantom import write_phantom


@pytest.fixture(scope="module")
def sagittal(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    study = write_phantom(tmp_path_factory.mktemp("phantom"), "simple", seed=2, deterministic_uids=True)
    files = sorted(p for p in study.files if "Sag" in p.parent.name)
    assert len(files) >= 10
    return files


def test_a_volume_from_headers_equals_the_volume_from_full_datasets(sagittal: list[Path], tmp_path: Path) -> None:
    # A rescale that is not the identity, so that the float64 rescale of each slice is exercised.
    rescaled = []
    for i, path in enumerate(reversed(sagittal)):  # out of order: load_volume sorts them
        ds = dcmread(path)
        ds.RescaleSlope, ds.RescaleIntercept = "0.37", "-12.5"
        out = tmp_path / f"{i}.dcm"
        ds.save_as(out)
        rescaled.append(out)
    full = load_volume([dcmread(p) for p in rescaled])
    headers = [dcmread(p, stop_before_pixels=True) for p in rescaled]
    from_headers = load_volume(headers)
    assert from_headers.array.dtype == np.float32 and full.array.dtype == np.float32
    assert np.array_equal(from_headers.array, full.array)
    by_uid = {str(ds.SOPInstanceUID): ds for ds in map(dcmread, rescaled)}
    expected = np.stack([by_uid[uid].pixel_array.astype(np.float64) * 0.37 - 12.5 for uid in full.sop_instance_uids])
    assert np.array_equal(from_headers.array, expected.astype(np.float32))
    assert from_headers.sop_instance_uids == full.sop_instance_uids
    assert np.array_equal(from_headers.positions, full.positions)
    assert all("PixelData" not in ds for ds in headers), "the headers hold no pixels afterwards"


def test_a_header_without_a_file_says_so(sagittal: list[Path]) -> None:
    header = dcmread(sagittal[0], stop_before_pixels=True)
    assert stored_pixels(header).shape == (int(header.Rows), int(header.Columns))
    header.filename = None
    with pytest.raises(GeometryError, match="no pixel data and no file"):
        stored_pixels(header)
