"""The Segmentations built on worker processes while the SR is built: the same files as built in the job's
process one after the other (but for what highdicom sets anew on every build), and built there still when a
worker dies."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from phantom_pipeline import phantom_context
from pydicom import dcmread
from pydicom.dataset import Dataset

from workers.pipeline import STEPS, PipelineContext
from workers.results import seg_step

#: What highdicom sets anew on every build of a Segmentation.
VOLATILE = ("InstanceCreationDate", "InstanceCreationTime", "ContributionDateTime", "DimensionOrganizationUID")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> PipelineContext:
    ctx = phantom_context(tmp_path_factory.mktemp("study"), "cord_compression")
    for name in ("inventory", "analysis"):
        STEPS[name](ctx)
    return ctx


def _stable(path: Path) -> Dataset:
    ds = dcmread(path)
    for item in [ds, *(i for el in ds.iterall() if el.VR == "SQ" for i in el.value)]:
        for el in list(item):
            if el.keyword in VOLATILE:
                del item[el.tag]
    return ds


def _write(ctx: PipelineContext, out: Path, workers: int) -> tuple[list[seg_step.WrittenSegmentation], list[str]]:
    out.mkdir()
    return seg_step.start_segmentations(
        ctx.analysis,
        ctx.series_headers,
        ctx.series_paths,
        study_uid=ctx.study_uid,
        revision=1,
        output_dir=out,
        algorithm_name="spinenode",
        algorithm_version="test",
        content_datetime=datetime(2026, 1, 2, 3, 4, 5),
        workers=workers,
    )()


def _same(a: list[seg_step.WrittenSegmentation], b: list[seg_step.WrittenSegmentation]) -> None:
    assert [(w.path.name, w.sop_instance_uid, w.source_series_uid, w.segments) for w in a] == [
        (w.path.name, w.sop_instance_uid, w.source_series_uid, w.segments) for w in b
    ]
    for x, y in zip(a, b, strict=True):
        assert _stable(x.path) == _stable(y.path), x.path.name


def test_segmentations_built_on_workers_are_those_built_in_one_process(
    analysed: PipelineContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, problems = _write(analysed, tmp_path / "one", workers=1)
    assert serial and problems == []
    pids = tmp_path / "pids"
    real = seg_step._SegmentationJob.run_on_files

    def noting(self: seg_step._SegmentationJob, paths: list[str]) -> Any:
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return real(self, paths)

    monkeypatch.setattr(seg_step._SegmentationJob, "run_on_files", noting)  # the pool forks this process
    pooled, problems = _write(analysed, tmp_path / "two", workers=2)
    assert problems == []
    built_in = {int(p) for p in pids.read_text().split()}
    assert len(pids.read_text().split()) == len(serial) and os.getpid() not in built_in
    _same(serial, pooled)


def test_a_segmentation_whose_worker_died_is_built_in_the_job_process(
    analysed: PipelineContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, _ = _write(analysed, tmp_path / "one", workers=1)

    def dying(self: seg_step._SegmentationJob, paths: list[str]) -> Any:
        os._exit(1)  # a worker killed while it builds (no real part dies on demand)

    monkeypatch.setattr(seg_step._SegmentationJob, "run_on_files", dying)
    pooled, problems = _write(analysed, tmp_path / "two", workers=2)
    assert problems == []
    _same(serial, pooled)
