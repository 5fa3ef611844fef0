"""Benchmark studies of a given size, built from the spine phantom and the real shared DICOM data.

The study is the ``cord_compression`` phantom (a sagittal and an axial T2, 39 images, with the analysers of
a spine MR running on it) plus, until the wanted size is reached, copies of its series and of the real
single-frame MR series under ``shared/data/dicom`` (GE, Siemens, Philips, Hitachi), each copy a new series
with new UIDs in the phantom's study (Patient and Study modules of the phantom). Benchmark only: the shared
data never goes into a test or the repository.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from workers.phantom import write_phantom

SHARED = Path("/work/shared/data/dicom")
REAL_SERIES = (
    "dicom2nifti/ge/anatomical/001",
    "dicom2nifti/siemens/anatomical/001",
    "dicom2nifti/philips/anatomical/001",
    "dicom2nifti/hitachi/anatomical/001",
)
_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
    "ReferringPhysicianName",
)


def _series_of(folder: Path) -> list[list[Path]]:
    return [sorted(d.glob("*.dcm")) for d in sorted(p for p in folder.iterdir() if p.is_dir())]


def _copy_series(files: list[Path], study: Dataset, series_number: int, out: Path, limit: int) -> int:
    """Write up to ``limit`` instances of one series as a new series of ``study``; returns how many."""
    out.mkdir(parents=True)
    series_uid, frame_uid = generate_uid(), generate_uid()
    for i, path in enumerate(files[:limit]):
        ds = dcmread(path)
        for keyword in _STUDY_KEYWORDS:
            if keyword in study:
                setattr(ds, keyword, study.data_element(keyword).value)
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesNumber = series_number
        ds.save_as(out / f"IM{i + 1:04d}.dcm", enforce_file_format=True)
    return min(limit, len(files))


def build_study(folder: Path, images: int, seed: int = 0) -> str:
    """A study of exactly ``images`` instances under ``folder``; returns its Study Instance UID."""
    phantom = write_phantom(folder / "phantom", "cord_compression", seed=seed)
    own = _series_of(folder / "phantom")
    total = sum(len(s) for s in own)
    study = dcmread(own[0][0], stop_before_pixels=True)
    real = [sorted((SHARED / rel).glob("*.dcm")) for rel in REAL_SERIES if (SHARED / rel).is_dir()]
    sources = itertools.cycle([*own, *real])
    number = 100
    while total < images:
        number += 1
        total += _copy_series(next(sources), study, number, folder / f"copy-{number}", images - total)
    if total > images:
        raise ValueError(f"the phantom alone has {total} images; ask for at least that many")
    return phantom.study_instance_uid
