"""The per-run memo of cord segmentations and the per-series process pool (workers.analysis.segmentations)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.segmentations import (
    analysis_run,
    cord_segmentation,
    map_series,
    pool_context,
    start_series,
)
from workers.analysis.volume import load_volume
from workers.phantom import write_phantom


def _square_or_fail(x: int) -> tuple[int, int]:
    if x == 3:
        raise ValueError("three is refused")
    return (x * x, os.getpid())


def test_map_series_on_two_workers_keeps_order_and_hands_back_exceptions() -> None:
    with analysis_run(workers=2):
        out = map_series(_square_or_fail, [1, 2, 3, 4, 5, 6])
    assert [o if isinstance(o, Exception) else o[0] for o in out][:2] == [1, 4]
    assert isinstance(out[2], ValueError) and str(out[2]) == "three is refused"
    assert [o[0] for o in out[3:] if not isinstance(o, Exception)] == [16, 25, 36]
    pids = {o[1] for o in out if not isinstance(o, Exception)}
    assert os.getpid() not in pids  # computed in the pool's processes


def test_map_series_with_one_worker_runs_here() -> None:
    with analysis_run(workers=1):
        out = map_series(_square_or_fail, [2, 3])
    assert not isinstance(out[0], Exception) and out[0] == (4, os.getpid())
    assert isinstance(out[1], ValueError)


def _began_at(x: int) -> tuple[int, float, int]:
    return (x * x, time.monotonic(), os.getpid())


def test_series_started_early_run_on_the_pool_before_they_are_asked_for() -> None:
    with analysis_run(workers=2):
        start_series("squares", _began_at, [1, 2, 3])
        time.sleep(2.0)  # this process busy elsewhere (the levels estimate)
        asked = time.monotonic()
        out = map_series(_began_at, [1, 2, 3], tag="squares")
        again = map_series(_began_at, [1, 2, 3], tag="squares")  # collected once: computed anew
    assert [o[0] for o in out if not isinstance(o, Exception)] == [1, 4, 9]
    assert all(not isinstance(o, Exception) and o[1] < asked and o[2] != os.getpid() for o in out)
    assert all(not isinstance(o, Exception) and o[1] > asked for o in again)


def test_series_started_early_with_one_worker_run_when_asked_for() -> None:
    with analysis_run(workers=1):
        start_series("squares", _began_at, [1, 2])
        asked = time.monotonic()
        out = map_series(_began_at, [1, 2], tag="squares")
    assert all(not isinstance(o, Exception) and o[1] >= asked and o[2] == os.getpid() for o in out)
    assert [o[0] for o in out if not isinstance(o, Exception)] == [1, 4]


def test_a_process_with_other_threads_forks_its_workers_from_the_fork_server() -> None:
    """``serve`` runs jobs beside the DICOM server's and the web app's threads: forking it could copy a lock
    another thread holds, and the child would wait on it for ever."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert pool_context().get_start_method() == "forkserver"
        with analysis_run(workers=2):
            out = map_series(_square_or_fail, [5, 6, 7])
        assert [o[0] for o in out if not isinstance(o, Exception)] == [25, 36, 49]
        assert os.getpid() not in {o[1] for o in out if not isinstance(o, Exception)}
    finally:
        stop.set()
        other.join()


def test_a_single_threaded_process_forks_its_workers_directly() -> None:
    code = "from workers.analysis.segmentations import pool_context; print(pool_context().get_start_method())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "fork"


@pytest.fixture(scope="module")
def axial_volume(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from pydicom import dcmread

    folder = tmp_path_factory.mktemp("phantom")
    write_phantom(folder, "cord_compression", seed=0)
    for series in sorted(p for p in folder.iterdir() if p.is_dir()):
        datasets = [dcmread(f) for f in sorted(series.glob("*.dcm"))]
        volume = load_volume(datasets)
        if AxialView.of(volume).axes[0] == 0:  # slices are axial
            return volume
    raise AssertionError("the phantom has no axial series")


def test_one_segmentation_per_run_equal_to_segment_cord(axial_volume) -> None:  # type: ignore[no-untyped-def]
    expected = segment_cord(AxialView.of(axial_volume))
    with analysis_run(workers=1):
        first = cord_segmentation(axial_volume)
        again = cord_segmentation(axial_volume)
    assert again is first  # computed once, shared
    assert np.array_equal(first.mask, expected.mask) and np.array_equal(first.found, expected.found)
    outside = cord_segmentation(axial_volume)
    assert outside is not first  # nothing outlives the run


def _counting_segment(log_path: str):  # type: ignore[no-untyped-def]
    """``_segment`` that also writes the series it segments to ``log_path`` (one line a call, any process)."""
    from workers.analysis import segmentations

    real = segmentations._segment

    def segment(volume, polarity):  # type: ignore[no-untyped-def]
        with open(log_path, "a") as out:
            out.write(f"{volume.series_instance_uid}\n")
        return real(volume, polarity)

    return segment


def test_each_series_is_segmented_once_per_run_on_two_workers(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The canal analyser segments every axial T2 on the pool, begun before the cord analyser asks (in this
    process) for the best of them: that one is waited for, not segmented a second time."""
    import copy
    import multiprocessing

    from pydicom import dcmread
    from pydicom.uid import generate_uid

    from workers.analysis import run_analysers, segmentations
    from workers.inventory import classify_series

    write_phantom(tmp_path / "study", "cord_compression", seed=0)
    series = []
    for folder in sorted(p for p in (tmp_path / "study").iterdir() if p.is_dir()):
        datasets = [dcmread(f) for f in sorted(folder.glob("*.dcm"))]
        series.append(datasets)
        if AxialView.of(load_volume(datasets)).axes[0] == 0:  # a second axial series, as a copy
            copy_uid = generate_uid()
            copies = [copy.deepcopy(ds) for ds in datasets]  # a shallow copy shares the elements
            for ds in copies:
                ds.SeriesInstanceUID, ds.SOPInstanceUID = copy_uid, generate_uid()
            series.append(copies)
    log_path = tmp_path / "segmented.txt"
    monkeypatch.setattr(segmentations, "_segment", _counting_segment(str(log_path)))
    # forked workers inherit the counting function (a fork server's would import the module afresh)
    monkeypatch.setattr(segmentations, "pool_context", lambda: multiprocessing.get_context("fork"))
    out = run_analysers([(classify_series(dss), dss) for dss in series], workers=2)
    segmented = log_path.read_text().split()
    axial = [r for r in out.results if r.analyser == "canal_fluid"]
    assert axial and len(axial[0].qc) >= 2  # both axial series analysed, on the pool
    assert "cord_morphometry" in {r.analyser for r in out.results}
    assert len(segmented) == len(set(segmented)), f"segmented more than once: {sorted(segmented)}"


def _slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_a_segmentation_of_other_images_does_not_wait_for_the_pool(axial_volume) -> None:  # type: ignore[no-untyped-def]
    """The levels estimate segments the sagittal T2 in the job's process while the axial series run on the
    pool: it waits only for a task that reads its images."""
    with analysis_run(workers=2):
        start_series("other images", _slow, [8.0, 8.0], images=lambda _: ["1.2.3.4"])
        began = time.monotonic()
        cord_segmentation(axial_volume)
        took = time.monotonic() - began
        assert took < 6.0, f"waited {took:.1f} s for tasks that read other images"


def _segmented_slices(volume) -> int:  # type: ignore[no-untyped-def]
    return int(cord_segmentation(volume).found.sum())


def test_a_segmentation_made_on_the_pool_comes_back_without_its_image_and_gets_the_callers(
    axial_volume, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The pool sends back what it segmented without the volume's pixels (the job's process holds them): the
    caller's segmentation is the one segment_cord gives, on the view of the caller's volume."""
    import multiprocessing

    from workers.analysis import segmentation_cache, segmentations

    expected = segment_cord(AxialView.of(axial_volume))
    _, made, (cached, waited) = segmentations._pooled(_segmented_slices, axial_volume)
    assert cached == waited == 0  # no cache in this run
    (detached,) = made.values()
    assert isinstance(detached, segmentation_cache.Detached) and detached.segmentation.view.array.size == 0
    monkeypatch.setattr(segmentations, "pool_context", lambda: multiprocessing.get_context("fork"))
    with analysis_run(workers=2):
        start_series("axial", _segmented_slices, [axial_volume, axial_volume], images=lambda v: v.sop_instance_uids)

        def refuse(volume, polarity):  # type: ignore[no-untyped-def]
            raise AssertionError("segmented again in the job's process")

        monkeypatch.setattr(segmentations, "_segment", refuse)  # the workers were forked before this
        got = cord_segmentation(axial_volume)
    np.testing.assert_array_equal(got.view.array, AxialView.of(axial_volume).array)
    for name in ("mask", "centres", "radii", "found", "path_scores", "midline_x"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
