"""The early work decides from one header whether a series can be a T2 before reading all its headers.

It may only skip a series the job's inventory never calls a T2 (the job classifies every series itself
from all its headers; a skipped T2 would only cost the early work its shortcut, but the filter must never
skip one). Checked on the real multi-vendor series under shared/data/dicom and on the phantom study.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pydicom import dcmread

from workers.inventory import classify_series
from workers.phantom import write_phantom
from workers.pipeline import context
from workers.pipeline.early import AXIAL_T2, may_be_t2, segment_early

DATA = Path(__file__).resolve().parents[5] / "shared" / "data" / "dicom"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data/dicom is not mounted here")


def _series(root: Path) -> list[list[Path]]:
    folders = sorted({p.parent for p in root.rglob("*.dcm")})
    return [sorted(f.glob("*.dcm")) for f in folders]


@needs_data
def test_no_series_the_inventory_calls_a_t2_is_skipped_from_its_first_header() -> None:
    kept, skipped = 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for files in _series(DATA):
            headers = [dcmread(f, stop_before_pixels=True) for f in files]
            by_series: dict[str, list] = {}
            for ds in headers:
                by_series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
            for group in by_series.values():
                try:
                    sequence = classify_series(group).sequence
                except Exception:  # noqa: BLE001 - a series the inventory cannot classify is never segmented
                    continue
                if sequence == "T2":
                    assert may_be_t2(group[0]), files[0].parent
                    kept += 1
                elif not may_be_t2(group[0]):
                    skipped += 1
    assert kept >= 1 and skipped >= 3  # both answers occur in the real data


@needs_data
def test_a_series_not_t2_is_read_no_further_than_its_first_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phantom = write_phantom(tmp_path / "phantom", "cord_compression", seed=0)
    studies = [(phantom.study_instance_uid, files) for files in _series(tmp_path / "phantom")]
    for files in _series(DATA / "dicom2nifti"):
        first = dcmread(files[0], stop_before_pixels=True)
        if len({str(dcmread(f, stop_before_pixels=True).SeriesInstanceUID) for f in files}) == 1:
            studies.append((str(first.StudyInstanceUID), files))
    real = context.usable
    reads: list[Path] = []

    def counting(path: Path, study_uid: str):  # type: ignore[no-untyped-def]
        reads.append(path)
        return real(path, study_uid)

    monkeypatch.setattr(context, "usable", counting)
    kinds, skipped = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for study_uid, files in studies:
            sequence = classify_series([dcmread(f, stop_before_pixels=True) for f in files]).sequence
            reads.clear()
            kind, _ = segment_early([str(f) for f in files], study_uid, tmp_path / "cache")
            kinds.append(kind)
            if may_be_t2(dcmread(files[0], stop_before_pixels=True)):  # e.g. a DWI whose first image is b=0
                assert len(reads) == len(files)
            else:
                assert sequence != "T2" and kind is None and len(reads) == 1, (sequence, len(reads))
                skipped += 1
    assert AXIAL_T2 in kinds and skipped >= 3  # T2 series and others
