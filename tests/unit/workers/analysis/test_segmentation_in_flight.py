"""A segmentation the early work is still making when the job asks for it is waited for, not made twice; the QC
figures of an axial T2 are filed with its early segmentation and made once per segmentation within a run
(workers.analysis.segmentations, workers.analysis.segmentation_cache, workers.analysis.in_flight,
workers.analysis.cord.qc)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from phantom_series import Study, copy_series, job_analysis, phantom_study
from pydicom import dcmread

from workers.analysis import segmentations
from workers.analysis.cord import ghost, qc
from workers.analysis.segmentation_cache import SegmentationCache, identities_of, segmentation_key
from workers.analysis.volume import load_volume
from workers.pipeline.early import AXIAL_T2, segment_early

_SEGMENT = segmentations._segment
_FIGURES = qc._figures
_WAIT = SegmentationCache.wait


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return phantom_study(tmp_path_factory.mktemp("phantom"))


class Counts:
    """What the job's analysis did, counted on the real functions (each still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.segmented: list[str] = []
        self.figures = 0
        self.waits = 0
        self.waiting = threading.Event()

        def segment(volume: Any, polarity: Any) -> Any:
            self.segmented.append(volume.series_instance_uid)
            return _SEGMENT(volume, polarity)

        def figures(seg: Any, slices: Any) -> Any:
            self.figures += 1
            return _FIGURES(seg, slices)

        def wait(cache: SegmentationCache, key: Any, *args: Any, **kwargs: Any) -> Any:
            self.waits += 1
            self.waiting.set()
            return _WAIT(cache, key, *args, **kwargs)

        monkeypatch.setattr(segmentations, "_segment", segment)
        monkeypatch.setattr(qc, "_figures", figures)
        monkeypatch.setattr(SegmentationCache, "wait", wait)


def _axial(study_uid: str, series: list[list[Path]], staging: Path) -> tuple[int, SegmentationCache, Any]:
    """The axial T2's index, a cache on its files and its key; its early segmentation filed in ``staging``."""
    for i, files in enumerate(series):
        if segment_early([str(f) for f in files], study_uid, staging)[0] == AXIAL_T2:
            headers = [dcmread(f, stop_before_pixels=True) for f in files]
            key = segmentation_key(load_volume(headers))
            return i, SegmentationCache(staging, identities_of(headers)), key
    raise AssertionError("no axial T2")


def _series_uid(files: list[Path]) -> str:
    return str(dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)


@pytest.mark.parametrize("filed", [True, False], ids=["filed", "not-filed"])
def test_a_job_waits_for_a_segmentation_being_made_elsewhere(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filed: bool
) -> None:
    """Filed by its maker: the job takes it and makes neither it nor its QC figures again. Its maker stopped
    without filing it (the segmentation could not be made): the job makes it, once."""
    series = copy_series(study, tmp_path / "files")
    fresh = job_analysis(series, None)
    axial, staged, key = _axial(study[0], series, tmp_path / "staging")
    cache = SegmentationCache(tmp_path / "cache", staged.files, keep=True)
    marker = cache.claim()  # the early work has begun this series (this process stands for it)
    assert marker is not None and cache.in_flight(key)
    assert cache.claim() is None  # a second claim of the same segmentation is refused
    counts = Counts(monkeypatch)

    def early_work_ends() -> None:  # once the job waits: the segmentation filed (or not), the marker removed
        assert counts.waiting.wait(60)
        if filed:
            shutil.copy(staged.path(key), tmp_path / "cache")  # type: ignore[arg-type]
        cache.release(marker)

    finisher = threading.Thread(target=early_work_ends)
    finisher.start()
    cached = job_analysis(series, tmp_path / "cache")
    finisher.join()
    assert counts.waits == 1
    if filed:
        assert _series_uid(series[axial]) not in counts.segmented  # waited for, not made again
        assert counts.figures == 0  # the axial T2's QC figures came with it
    else:
        assert counts.segmented.count(_series_uid(series[axial])) == 1  # made by the job, once
    assert cached == fresh
    assert not list((tmp_path / "cache").glob("*.making"))


def test_a_marker_left_by_a_process_that_died_is_not_waited_for(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    axial, staged, key = _axial(study[0], series, tmp_path / "staging")
    cache = SegmentationCache(tmp_path / "cache", staged.files, keep=True)
    marker = cache.claim()
    assert marker is not None
    marker.write_text(str(_ended_pid()))  # the early work's process died while making it
    assert not cache.in_flight(key)
    counts = Counts(monkeypatch)
    job_analysis(series, tmp_path / "cache")
    assert counts.waits == 0
    assert counts.segmented.count(_series_uid(series[axial])) == 1


def _ended_pid() -> int:
    """The ID of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_early_work_marks_a_segmentation_while_it_makes_it(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def segment(volume: Any, polarity: Any) -> Any:
        seen.append(len(list((tmp_path / "cache").glob("*.making"))))
        return _SEGMENT(volume, polarity)

    def wait(*_: Any, **__: Any) -> Any:
        raise AssertionError("the early work waited for its own segmentation")

    monkeypatch.setattr(segmentations, "_segment", segment)
    monkeypatch.setattr(SegmentationCache, "wait", wait)
    for files in study[1]:
        segment_early([str(f) for f in files], study[0], tmp_path / "cache", sagittal=True)
    assert seen == [1, 1]  # each of the two T2 series marked while it was segmented
    assert not list((tmp_path / "cache").glob("*.making"))  # and no marker left once filed
    assert len(list((tmp_path / "cache").glob("*.seg"))) == 2


def test_qc_figures_are_made_once_per_segmentation_and_filed_with_an_axial_t2(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = copy_series(study, tmp_path / "files")
    counts = Counts(monkeypatch)
    fresh = job_analysis(series, None)
    # the canal and the cord analyser both review the one axial T2: its figures are made once
    assert counts.figures == 1
    axial, staged, key = _axial(study[0], series, tmp_path / "cache")
    entry = staged.get(key)
    assert entry is not None and entry.figures is not None
    counts.figures = 0
    assert job_analysis(series, tmp_path / "cache") == fresh
    assert counts.figures == 0


def test_the_ghost_checks_give_the_same_figures_with_the_details_made_once() -> None:
    rng = np.random.default_rng(3)
    image = rng.normal(100.0, 20.0, (6, 48, 40))
    image[:, 10:30, 12:20] += 80.0
    image += 0.3 * np.roll(image, 17, axis=1)  # a ghost front to back
    mask = np.zeros(image.shape, bool)
    mask[:, 18:24, 14:18] = True
    spacing = (3.0, 0.8, 0.9)
    ks = np.arange(6)
    details = ghost.slice_details(image, spacing, ks)
    once = ghost.ghosting(image, spacing, ks, details)
    assert once == ghost.ghosting(image, spacing, ks) and once[0] > 0.2
    share = ghost.ghost_over_cord(image, spacing, mask, ks, *once, details)
    assert share == ghost.ghost_over_cord(image, spacing, mask, ks, *once)
