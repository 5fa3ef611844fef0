"""The masks the analysers computed, per source series, as segments for a DICOM Segmentation.

Masks of ``failed`` outputs are left out; those of ``unreliable`` outputs are kept with "(unreliable)" in
their label, so that a reader sees what the node saw and why it did not grade it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from workers.analysis.base import AnalyserResult, AnalysisOutput, QcStatus
from workers.results.seg import (
    CSF_LEAK_SEGMENT,
    DURAL_SAC_SEGMENT,
    MARROW_SEGMENT,
    SPINAL_CORD_SEGMENT,
    VERTEBRAL_BODY_SEGMENT,
    SegmentMask,
)


def _label(result: AnalyserResult, series_uid: str, base: str) -> str | None:
    verdict = result.verdict(series_uid)
    if verdict is not None and verdict.status is QcStatus.FAILED:
        return None
    return base + (" (unreliable)" if verdict is not None and not verdict.ok else "")


def _cord(result: AnalyserResult) -> Iterator[tuple[str, SegmentMask]]:
    seg, volume = result.details.get("segmentation"), result.details.get("volume")
    if seg is not None and volume is not None and seg.mask.any():
        label = _label(result, volume.series_instance_uid, "spinal cord")
        if label:
            mask = seg.view.to_source(seg.mask)
            yield volume.series_instance_uid, SegmentMask(label, *SPINAL_CORD_SEGMENT, mask, volume.sop_instance_uids)
    for series_uid, mask, uids in result.details.get("cord_masks") or ():
        label = _label(result, series_uid, "spinal cord")
        if label and mask.any():
            yield series_uid, SegmentMask(label, *SPINAL_CORD_SEGMENT, mask, tuple(uids))


def _measured_mask(result: AnalyserResult) -> Iterator[tuple[str, SegmentMask]]:
    """DTI / MTR: the cord mask on the grid of the measured series (its SOP instances in the measurement)."""
    mask = result.details.get("mask")
    measured = next((m for m in result.measurements if m.sop_instance_uids), None)
    if mask is None or measured is None or not np.any(mask) or len(measured.sop_instance_uids) != mask.shape[0]:
        return
    label = _label(result, measured.series_instance_uid, "spinal cord")
    if label:
        yield (
            measured.series_instance_uid,
            SegmentMask(label, *SPINAL_CORD_SEGMENT, np.asarray(mask, dtype=bool), measured.sop_instance_uids),
        )


def _marrow(result: AnalyserResult) -> Iterator[tuple[str, SegmentMask]]:
    bodies: Any = result.details.get("body_mask")
    if bodies is not None:
        t1_uid, mask, t1_uids = bodies
        label = _label(result, (result.details.get("adc_grid") or ("",))[0], "vertebral bodies")
        if label and np.any(mask):
            yield t1_uid, SegmentMask(label, *VERTEBRAL_BODY_SEGMENT, np.asarray(mask, dtype=bool), tuple(t1_uids))
    grid: Any = result.details.get("adc_grid")
    if grid is None:
        return
    series_uid, uids = grid
    for roi in result.details.get("rois") or ():
        label = _label(result, series_uid, f"marrow ROI {roi.name}")
        if label and roi.mask.any():
            yield series_uid, SegmentMask(label, *MARROW_SEGMENT, roi.mask.astype(bool), tuple(uids))


def _myelography(result: AnalyserResult) -> Iterator[tuple[str, SegmentMask]]:
    """CT myelography: the dural sac and the leaked contrast, on the CT series grid."""
    for series_uid, sac, leak, uids in result.details.get("ctm_masks") or ():
        for base, coded, mask in (("dural sac", DURAL_SAC_SEGMENT, sac), ("CSF leak", CSF_LEAK_SEGMENT, leak)):
            label = _label(result, series_uid, base)
            if label and np.any(mask):
                yield series_uid, SegmentMask(label, *coded, np.asarray(mask, dtype=bool), tuple(uids))


def segment_masks(output: AnalysisOutput) -> dict[str, list[SegmentMask]]:
    """Series Instance UID -> its segments (one per structure; a second cord mask of a series is dropped)."""
    out: dict[str, list[SegmentMask]] = {}
    for result in output.results:
        if result.analyser in ("cord_morphometry", "canal_fluid"):
            found = _cord(result)
        elif result.analyser in ("cord_dti", "cord_mtr"):
            found = _measured_mask(result)
        elif result.analyser == "marrow_adc":
            found = _marrow(result)
        elif result.analyser == "ct_myelography":
            found = _myelography(result)
        else:
            continue
        for series_uid, segment in found:
            labels = {s.label.split(" (")[0] for s in out.get(series_uid, [])}
            if segment.label.split(" (")[0] not in labels:
                out.setdefault(series_uid, []).append(segment)
    return out
