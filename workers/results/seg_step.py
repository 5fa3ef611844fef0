"""The DICOM Segmentations of one study revision, written by the results step next to the SR and the card.

One Segmentation per source series with masks (:func:`workers.analysis.masks.segment_masks`: the cord, the
marrow ROIs; masks of failed outputs are left out, those of unreliable ones are labelled so). They join the
study in series 9903; the series UID derives from the study and the source series, the SOP Instance UID also
from the revision, so an amendment sends new Segmentations in the same series, next to the amended SR.
When no mask was computed, no Segmentation is written and the reason is returned for the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from workers.results.header import deterministic_uid


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
    from workers.analysis.masks import segment_masks
    from workers.results.seg import build_segmentation

    if analysis is None:
        return [], ["no segmentation: the analysis did not run"]
    masks = segment_masks(analysis)
    if not masks:
        return [], ["no segmentation: no analyser computed a mask on this study"]
    written: list[WrittenSegmentation] = []
    problems: list[str] = []
    for index, (series_uid, segments) in enumerate(masks.items(), start=1):
        series_instance_uid, sop_instance_uid = segmentation_uids(study_uid, series_uid, revision)
        try:
            seg = build_segmentation(
                list(load_series(series_uid)),
                segments,
                series_instance_uid=series_instance_uid,
                sop_instance_uid=sop_instance_uid,
                algorithm_name=algorithm_name,
                algorithm_version=algorithm_version,
                instance_number=revision * 100 + index,
                content_datetime=content_datetime,
            )
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"no segmentation of series {series_uid[-12:]}: {exc}"[:300])
            continue
        path = output_dir / f"seg-r{revision}-{index}.dcm"
        tmp = path.with_suffix(".tmp")
        seg.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)
        written.append(
            WrittenSegmentation(
                path,
                str(seg.SOPClassUID),
                str(seg.SOPInstanceUID),
                str(seg.SeriesInstanceUID),
                series_uid,
                tuple(s.label for s in segments),
            )
        )
    return written, problems
