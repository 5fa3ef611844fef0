"""Segmentations made while a study arrives (workers.pipeline.early) and found again by the job's analysis
(workers.analysis.segmentation_cache.SegmentationCache): the job's output is the one a run without them gives, and
a series that changed after its early segmentation is segmented again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from phantom_series import Study, copy_series, job_analysis, phantom_study
from pydicom import dcmread

from workers.analysis import segmentation_cache, segmentations
from workers.pipeline.early import AXIAL_T2, SAGITTAL_T2, segment_early

_SEGMENT = segmentations._segment  # the real one (a test patches it once per analysis)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return phantom_study(tmp_path_factory.mktemp("phantom"))


def _analyse(
    series: list[list[Path]], cache: Path | None, log: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[str]]:
    """The analysis as the job runs it (headers read from the files, one process), as JSON, and the series it
    segmented itself."""
    real = _SEGMENT

    def counting(volume: Any, polarity: Any) -> Any:
        with log.open("a") as out:
            out.write(f"{volume.series_instance_uid}\n")
        return real(volume, polarity)

    monkeypatch.setattr(segmentations, "_segment", counting)
    log.write_text("")
    return job_analysis(series, cache, masks=True), log.read_text().split()


def _early(series: list[list[Path]], study_uid: str, cache: Path) -> list[tuple[str | None, int]]:
    return [segment_early([str(f) for f in files], study_uid, cache, sagittal=True) for files in series]


def test_a_study_segmented_while_it_arrived_is_analysed_the_same_without_segmenting_again(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    fresh, segmented_fresh = _analyse(series, None, tmp_path / "log", monkeypatch)
    assert segmented_fresh  # the phantom's T2 series are segmented by the analysis
    found = _early(series, study[0], tmp_path / "cache")
    assert sorted(k for k, _ in found if k) == [AXIAL_T2, SAGITTAL_T2]
    assert sum(n for _, n in found) == 2 and len(list((tmp_path / "cache").glob("*.seg"))) == 2
    cached, segmented = _analyse(series, tmp_path / "cache", tmp_path / "log", monkeypatch)
    assert segmented == []  # every segmentation came from the cache
    assert cached == fresh


def test_a_series_that_grew_after_its_early_segmentation_is_segmented_again(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    fresh, _ = _analyse(series, None, tmp_path / "log", monkeypatch)
    partial = [files[:-1] for files in series]  # the last image of each series not yet arrived
    assert sum(n for _, n in _early(partial, study[0], tmp_path / "cache")) == 2
    cached, segmented = _analyse(series, tmp_path / "cache", tmp_path / "log", monkeypatch)
    assert len(segmented) == 2  # neither early segmentation was of the whole series
    assert cached == fresh


def test_an_image_sent_again_is_a_new_file_and_its_series_is_segmented_again(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    _early(series, study[0], tmp_path / "cache")
    sent_again = series[0][len(series[0]) // 2]
    tmp = sent_again.with_suffix(".tmp")
    shutil.copyfile(sent_again, tmp)  # the same bytes, a new file renamed into place (as the spool stores it)
    os.replace(tmp, sent_again)
    uid = str(dcmread(sent_again, stop_before_pixels=True).SeriesInstanceUID)
    _, segmented = _analyse(series, tmp_path / "cache", tmp_path / "log", monkeypatch)
    assert segmented == [uid]


def test_segmentations_of_other_code_or_cut_short_are_not_used(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    fresh, _ = _analyse(series, None, tmp_path / "log", monkeypatch)
    _early(series, study[0], tmp_path / "cache")
    digest = segmentation_cache.code_digest()
    monkeypatch.setattr(segmentation_cache, "_CODE_DIGEST", [digest[::-1]])  # the segmentation's code changed
    _, segmented = _analyse(series, tmp_path / "cache", tmp_path / "log", monkeypatch)
    assert len(segmented) == 2
    monkeypatch.setattr(segmentation_cache, "_CODE_DIGEST", [digest])
    for entry in (tmp_path / "cache").glob("*.seg"):
        entry.write_bytes(entry.read_bytes()[:100])  # a crash while writing it
    cached, segmented = _analyse(series, tmp_path / "cache", tmp_path / "log", monkeypatch)
    assert len(segmented) == 2 and cached == fresh


def test_only_a_sagittal_t2_asked_for_is_segmented_early(study: Study, tmp_path: Path) -> None:
    found = [segment_early([str(f) for f in files], study[0], tmp_path / "cache") for files in study[1]]
    assert sorted(found, key=str) == sorted([(AXIAL_T2, 1), (SAGITTAL_T2, 0)], key=str)
    assert len(list((tmp_path / "cache").glob("*.seg"))) == 1


def test_the_first_sagittal_t2_to_arrive_is_segmented_not_a_second(study: Study, tmp_path: Path) -> None:
    sagittal = next(
        files for files in study[1] if segment_early([str(f) for f in files], study[0], tmp_path)[0] == SAGITTAL_T2
    )
    paths = [str(f) for f in sagittal]
    assert segment_early(paths, study[0], tmp_path / "cache", sagittal=None) == (SAGITTAL_T2, 1)
    again = paths[:-1]  # another sagittal T2 of the study (here: the same less one image)
    assert segment_early(again, study[0], tmp_path / "cache", sagittal=None) == (SAGITTAL_T2, 0)
    assert segment_early(again, study[0], tmp_path / "cache", sagittal=True) == (SAGITTAL_T2, 1)
    assert len(list((tmp_path / "cache").glob("*.seg"))) == 2


def test_a_segmentation_that_cannot_be_filed_leaves_no_temporary_file(study: Study, tmp_path: Path) -> None:
    """Writing fails (here its name is taken by a folder, as a full disk fails it): the part written is removed."""
    series = copy_series(study, tmp_path / "files")
    _early(series, study[0], tmp_path / "first")
    names = sorted(p.name for p in (tmp_path / "first").glob("*.seg"))
    assert len(names) == 2
    blocked = tmp_path / "blocked"
    for name in names:
        (blocked / name).mkdir(parents=True)  # the rename into place fails
    _early(series, study[0], blocked)
    assert sorted(p.name for p in blocked.iterdir() if p.is_dir()) == names  # nothing filed
    assert [p.name for p in blocked.iterdir() if not p.is_dir() and p.suffix != ".claim"] == []
