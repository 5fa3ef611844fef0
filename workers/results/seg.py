"""DICOM Segmentation (highdicom, binary) of the masks the node computed on one source series.

:func:`build_segmentation` takes the source images of one series and one :class:`SegmentMask` per structure
(the spinal cord, marrow regions, ...), each a boolean array whose frame ``k`` lies on the source image
``sop_instance_uids[k]``. The Segmentation references every source instance (Referenced Series Sequence,
Source Image Sequence per frame), joins the study of its sources in a new series, names the algorithm, and
passes ``dciodvfy`` with no error. Frames without any segment are left out (highdicom omits empty frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.results.header import MANUFACTURER

SEG_SERIES_NUMBER = 9903


@dataclass(frozen=True)
class SegmentMask:
    """One segment: its label, SNOMED CT category and type, and a boolean mask on the source frames."""

    label: str
    category: Code
    property_type: Code
    mask: np.ndarray  # (frames, rows, columns) bool
    sop_instance_uids: tuple[str, ...]  # source image of each frame

    def __post_init__(self) -> None:
        if self.mask.ndim != 3:
            raise ValueError(f"segment {self.label!r}: mask must be 3-D (frames, rows, columns), got {self.mask.shape}")
        if len(self.sop_instance_uids) != self.mask.shape[0]:
            raise ValueError(
                f"segment {self.label!r}: {self.mask.shape[0]} frames but {len(self.sop_instance_uids)} source UIDs"
            )


#: Structures the node segments, as (category, type).
SPINAL_CORD_SEGMENT = (codes.SCT.AnatomicalStructure, codes.SCT.SpinalCord)
MARROW_SEGMENT = (codes.SCT.AnatomicalStructure, Code("14016003", "SCT", "Bone marrow structure"))
VERTEBRAL_BODY_SEGMENT = (codes.SCT.AnatomicalStructure, Code("56484001", "SCT", "Vertebral body"))
#: The contrast-filled dural sac of a CT myelogram (its CSF pathway) and contrast that left it (a CSF leak).
DURAL_SAC_SEGMENT = (codes.SCT.AnatomicalStructure, codes.SCT.SpinalCerebrospinalFluidPathway)
CSF_LEAK_SEGMENT = (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.CerebrospinalFluid)


def _ordered_sources(sources: Sequence[Dataset]) -> list[Dataset]:
    series = {str(ds.SeriesInstanceUID) for ds in sources}
    if len(series) != 1:
        raise ValueError(f"sources must be one series, got {len(series)}")
    return sorted(sources, key=lambda ds: int(ds.get("InstanceNumber", 0) or 0))


def build_segmentation(
    sources: Sequence[Dataset],
    segments: Sequence[SegmentMask],
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    algorithm_name: str,
    algorithm_version: str,
    series_number: int = SEG_SERIES_NUMBER,
    instance_number: int = 1,
    content_datetime: datetime | None = None,
) -> hd.seg.Segmentation:
    """A binary DICOM Segmentation of ``segments`` on ``sources`` (full datasets of one series).

    Raises ValueError when there is no segment, a segment is empty, a source frame of a segment is not
    among ``sources``, or a mask does not have the sources' matrix.
    """
    if not segments:
        raise ValueError("no segment to write")
    images = _ordered_sources(sources)
    index = {str(ds.SOPInstanceUID): i for i, ds in enumerate(images)}
    rows, columns = int(images[0].Rows), int(images[0].Columns)
    pixels = np.zeros((len(images), rows, columns, len(segments)), dtype=bool)
    for n, segment in enumerate(segments):
        if segment.mask.shape[1:] != (rows, columns):
            raise ValueError(f"segment {segment.label!r}: mask {segment.mask.shape[1:]} is not {rows} x {columns}")
        if not segment.mask.any():
            raise ValueError(f"segment {segment.label!r} is empty")
        for k, uid in enumerate(segment.sop_instance_uids):
            if uid not in index:
                raise ValueError(f"segment {segment.label!r}: frame {k} lies on an image that is not a source")
            pixels[index[uid], :, :, n] |= segment.mask[k].astype(bool)
    algorithm = hd.AlgorithmIdentificationSequence(
        name=algorithm_name[:64], family=codes.cid7162.ArtificialIntelligence, version=algorithm_version[:64]
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n + 1,
            segment_label=segment.label[:64],
            segmented_property_category=segment.category,
            segmented_property_type=segment.property_type,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for n, segment in enumerate(segments)
    ]
    when = content_datetime or datetime.now()
    used = np.nonzero(pixels.any(axis=(1, 2, 3)))[0]
    return hd.seg.Segmentation(
        source_images=[images[i] for i in used],
        pixel_array=pixels[used],
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=algorithm_name[:64],
        software_versions=algorithm_version[:64],
        device_serial_number="1",
        series_description="SPINENODE segmentation",
        content_description="automatic masks",
        content_label="SPINENODE",
        content_date=when.date(),
        content_time=when.time(),
        omit_empty_frames=False,
    )
