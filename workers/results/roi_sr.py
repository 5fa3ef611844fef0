"""Region geometry in the SR: one TID 1410 Planar ROI group per key image that carries an outline.

The group holds the region as the standard places it (Image Region SCOORD at group level, on the
source image) and, because viewers built on dcmjs (OHIF, Cornerstone) read geometry only from a SCOORD under a
measurement (``shared/spec/interop.md``), the same SCOORD again under each NUM with relationship INFERRED FROM.
Tracking UIDs derive from the study and the region's label, so amended reports keep tracking the same ROI.
"""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from workers.results import codes as rc
from workers.results.header import deterministic_uid
from workers.results.section import KeyImage, ReportSection

_UNITS = {
    "mm2": Code("mm2", "UCUM", "square millimeter"),
    "mm2/s": Code("mm2/s", "UCUM", "square millimeter per second"),
    "mm": Code("mm", "UCUM", "millimeter"),
    "%": Code("%", "UCUM", "percent"),
    "1": Code("1", "UCUM", "no units"),
}
#: The structure a region lies in, from what was measured on it (cord area, marrow ADC).
_SITE_BY_CONCEPT = {"42798000": rc.SPINAL_CORD, "113041": rc.BONE_MARROW}


def _region(key: KeyImage, source: Dataset) -> hd.sr.ImageRegion:
    return hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,  # closed: first point == last
        graphic_data=np.asarray(key.outline, dtype=float),
        source_image=hd.sr.SourceImageForRegion(str(source.SOPClassUID), str(source.SOPInstanceUID)),
    )


def planar_roi_group(
    study_instance_uid: str, key: KeyImage, source: Dataset
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    """The TID 1410 group of one outlined key image."""
    label = key.roi_label or key.caption
    site = next((_SITE_BY_CONCEPT[v.concept.value] for v in key.values if v.concept.value in _SITE_BY_CONCEPT), None)
    sites = [hd.sr.FindingSite(site)] if site is not None else None
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=deterministic_uid(study_instance_uid, "roi", label), identifier=label[:64]
        ),
        referenced_region=_region(key, source),
        finding_type=site,
        finding_sites=sites,
        measurements=[hd.sr.Measurement(name=v.concept, value=float(v.value), unit=_UNITS[v.unit]) for v in key.values],
    )
    for item in group[0].ContentSequence:
        if item.ValueType != "NUM":
            continue
        inferred = _region(key, source)
        inferred.RelationshipType = "INFERRED FROM"
        if "ContentSequence" not in item:
            item.ContentSequence = hd.sr.ContentSequence()
        item.ContentSequence.append(inferred)
    return group


def planar_roi_groups(
    study_instance_uid: str, sections: Sequence[ReportSection], sources: Sequence[Dataset]
) -> list[hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations]:
    """A group per outlined key image whose source image is among ``sources`` (others are left out)."""
    by_sop = {str(ds.SOPInstanceUID): ds for ds in sources}
    groups = []
    for section in sections:
        for key in section.key_images:
            source = by_sop.get(key.source_sop_instance_uid or "")
            if key.outline and key.values and source is not None:
                groups.append(planar_roi_group(study_instance_uid, key, source))
    return groups
