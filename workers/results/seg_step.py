"""The DICOM Segmentations of one study revision, written by the results step next to the SR and the card.

One Segmentation per source series with masks (:func:`workers.analysis.masks.segment_masks`: the cord, the
marrow ROIs; masks of failed outputs are left out, those of unreliable ones are labelled so). They join the
study in series 9903; the series UID derives from the study and the source series, the SOP Instance UID also
from the revision, so an amendment sends new Segmentations in the same series, next to the amended SR.
When no mask was computed, no Segmentation is written and the reason is returned for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from workers.results.header import deterministic_uid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WrittenSegmentation:
    """One Segmentation file and what it holds."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    source_series_uid: str
    segments: tuple[str, ...]


def segmentation_uids(study_uid: str, source_series_uid: str, revision: int) -> tuple[str, str]:
    """(series, instance) UIDs of the Segmentation of one source series in one revision."""
    series = deterministic_uid(study_uid, "seg-series", source_series_uid)
    return series, deterministic_uid(study_uid, "seg", source_series_uid, str(revision))


def write_segmentations(
    analysis: Any,
    load_series: Callable[[str], Sequence[Dataset]],
    *,
    study_uid: str,
    revision: int,
    output_dir: Path,
    algorithm_name: str,
    algorithm_version: str,
    content_datetime: datetime,
) -> tuple[list[WrittenSegmentation], list[str]]:
    """Write the Segmentations; returns what was written and, per series that could not be, the reason."""
    return start_segmentations(
        analysis,
        load_series,
        None,
        study_uid=study_uid,
        revision=revision,
        output_dir=output_dir,
        algorithm_name=algorithm_name,
        algorithm_version=algorithm_version,
        content_datetime=content_datetime,
        workers=1,
    )()


Finish = Callable[[], tuple[list[WrittenSegmentation], list[str]]]


def start_segmentations(
    analysis: Any,
    load_series: Callable[[str], Sequence[Dataset]],
    series_paths: Callable[[str], Sequence[Path]] | None,
    *,
    study_uid: str,
    revision: int,
    output_dir: Path,
    algorithm_name: str,
    algorithm_version: str,
    content_datetime: datetime,
    workers: int | None = None,
) -> Finish:
    """Begin writing the Segmentations, one per series, on worker processes (as many as there are series,
    at most the analysis' workers, :func:`workers.analysis.segmentations.analysis_workers`) when the analysis
    runs on two or more and ``series_paths`` names each series' files: a Segmentation needs only its series'
    headers (read again there from the same files) and masks, so they are built while the caller builds the
    SR and the card. Returns the call that waits for them and returns what :func:`write_segmentations`
    returns, in the same order; a worker that dies leaves its Segmentations to be built in this process, as
    with one worker."""
    from workers.analysis.masks import segment_masks

    if analysis is None:
        return lambda: ([], ["no segmentation: the analysis did not run"])
    masks = segment_masks(analysis)
    if not masks:
        return lambda: ([], ["no segmentation: no analyser computed a mask on this study"])
    jobs = [
        _SegmentationJob(
            index,
            series_uid,
            segments,
            study_uid=study_uid,
            revision=revision,
            output_dir=output_dir,
            algorithm_name=algorithm_name,
            algorithm_version=algorithm_version,
            content_datetime=content_datetime,
        )
        for index, (series_uid, segments) in enumerate(masks.items(), start=1)
    ]
    allowed = _workers(workers)
    pool = _pool(min(len(jobs), allowed)) if series_paths is not None and allowed > 1 else None
    futures: list[Future[WrittenSegmentation | str] | None] = [None] * len(jobs)
    if pool is not None and series_paths is not None:
        for n, job in enumerate(jobs):
            futures[n] = pool.submit(_build, job, [str(p) for p in series_paths(job.series_uid)])

    def finish() -> tuple[list[WrittenSegmentation], list[str]]:
        written: list[WrittenSegmentation] = []
        problems: list[str] = []
        try:
            for job, future in zip(jobs, futures, strict=True):
                done: WrittenSegmentation | str | None = None
                if future is not None:
                    try:
                        done = future.result()
                    except BrokenProcessPool:  # a worker died (e.g. killed): built here instead
                        log.warning("segmentation pool broken; this Segmentation built in the job's process")
                if done is None:
                    done = job.run(list(load_series(job.series_uid)))
                if isinstance(done, str):
                    problems.append(done)
                else:
                    written.append(done)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return written, problems

    return finish


def _build(job: _SegmentationJob, paths: list[str]) -> WrittenSegmentation | str:
    """A pool task: ``job`` on the headers of ``paths``."""
    return job.run_on_files(paths)


def _workers(workers: int | None) -> int:
    from workers.analysis.segmentations import analysis_workers

    return analysis_workers() if workers is None else max(1, workers)


def _pool(workers: int) -> Executor | None:
    """A pool of ``workers`` processes (started as the analysis pool's are), or None when none can start."""
    from workers.analysis.segmentations import pool_context

    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=pool_context())
    except (OSError, ValueError, AssertionError) as exc:  # no processes here (e.g. a daemon): in this one
        log.warning("Segmentations built in one process: %s", exc)
        return None


@dataclass(frozen=True)
class _SegmentationJob:
    """The Segmentation of one series: its masks and what names it (picklable, for a worker process)."""

    index: int
    series_uid: str
    segments: Sequence[Any]
    study_uid: str
    revision: int
    output_dir: Path
    algorithm_name: str
    algorithm_version: str
    content_datetime: datetime

    def run_on_files(self, paths: Sequence[str]) -> WrittenSegmentation | str:
        """:meth:`run` on the headers of ``paths`` (the series' files the job kept, in its order)."""
        from pydicom import dcmread

        return self.run([dcmread(p, stop_before_pixels=True) for p in paths])

    def run(self, sources: list[Dataset]) -> WrittenSegmentation | str:
        """Build and write the Segmentation; what was written, or why it could not be."""
        from workers.results.seg import build_segmentation

        series_instance_uid, sop_instance_uid = segmentation_uids(self.study_uid, self.series_uid, self.revision)
        try:
            seg = build_segmentation(
                sources,
                self.segments,
                series_instance_uid=series_instance_uid,
                sop_instance_uid=sop_instance_uid,
                algorithm_name=self.algorithm_name,
                algorithm_version=self.algorithm_version,
                instance_number=self.revision * 100 + self.index,
                content_datetime=self.content_datetime,
            )
        except (ValueError, TypeError, KeyError) as exc:
            return f"no segmentation of series {self.series_uid[-12:]}: {exc}"[:300]
        path = self.output_dir / f"seg-r{self.revision}-{self.index}.dcm"
        tmp = path.with_suffix(".tmp")
        seg.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)
        return WrittenSegmentation(
            path,
            str(seg.SOPClassUID),
            str(seg.SOPInstanceUID),
            str(seg.SeriesInstanceUID),
            self.series_uid,
            tuple(s.label for s in self.segments),
        )
