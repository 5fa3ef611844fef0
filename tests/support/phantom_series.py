"""A phantom study on disk as the job's analysis reads it, for the tests of segmentations made ahead of the job
(the early work's cache and its in-flight markers): the study's series as files, copies a test may change, and
the analysis as the job runs it (headers read from the files, one process), as JSON to compare runs by."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread

from workers.analysis import contract, run_analysers
from workers.analysis.masks import segment_masks
from workers.inventory import classify_series
from workers.phantom import write_phantom

#: The study's UID and its series, each as its sorted files.
Study = tuple[str, list[list[Path]]]


def phantom_study(folder: Path, scenario: str = "cord_compression") -> Study:
    """The phantom ``scenario`` written under ``folder``."""
    phantom = write_phantom(folder, scenario, seed=0)
    series = [sorted(p.glob("*.dcm")) for p in sorted(p for p in folder.iterdir() if p.is_dir())]
    return phantom.study_instance_uid, series


def copy_series(study: Study, to: Path) -> list[list[Path]]:
    """The study's files copied to ``to`` (a test that changes files changes its own)."""
    out = []
    for i, files in enumerate(study[1]):
        (to / str(i)).mkdir(parents=True)
        out.append([Path(shutil.copy2(f, to / str(i) / f.name)) for f in files])
    return out


def job_analysis(series: list[list[Path]], cache: Path | None, masks: bool = False) -> str:
    """The job's analysis of ``series`` with the segmentation cache ``cache``, as JSON: measurements, QC
    verdicts, levels, notes, series skipped and, with ``masks``, every mask with its images."""
    inputs = []
    for files in series:
        headers = [dcmread(f, stop_before_pixels=True) for f in files]
        inputs.append((classify_series(headers), headers))
    output = run_analysers(inputs, workers=1, cache=cache)
    outcome: dict[str, Any] = {
        "measurements": [contract.measurement_json(m) for m in output.measurements],
        "qc": [v.as_json() for v in output.qc],
        "levels": contract.levels_json(output),
        "notes": output.notes,
        "skipped": output.skipped,
    }
    if masks:
        outcome["masks"] = {
            uid: [(seg.label, seg.sop_instance_uids, np.packbits(seg.mask).tobytes().hex()) for seg in segs]
            for uid, segs in segment_masks(output).items()
        }
    return json.dumps(outcome, sort_keys=True, default=str)
