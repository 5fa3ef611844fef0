"""Fixtures: real spinal cord MRI (sct_testing_data, MIT) wrapped as DICOM, and phantom studies.

The wrapped series hold REAL pixels with SYNTHETIC headers (see workers.phantom.nifti).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti


def shared_data() -> Path:
    """``shared/data`` beside the checkout, or beside any folder above it."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path(__file__).resolve().parents[5] / "shared" / "data"


SCT = shared_data() / "sct_testing_data"


def header() -> StudyHeader:
    return StudyHeader("WRAPPED^REAL", "WRAP-1", str(generate_uid()), str(generate_uid()), "W1", "wrapped")


def _wrap(path: str, plane: str, **kwargs: object) -> list[Dataset]:
    if not (SCT / path).exists():
        pytest.skip(f"real data {SCT / path} not available")
    return wrap_nifti(nib.load(SCT / path), WrapSpec(path, plane), header(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def wrap() -> Callable[..., list[Dataset]]:
    """wrap(path under sct_testing_data, plane, **wrap_nifti kwargs) -> datasets."""
    return _wrap
