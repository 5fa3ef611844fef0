"""Content items of the node's TID 1500 Measurement Report, apart from the sections' own groups.

- :func:`device_observer_context`: TID 1002 Observer Context for the node as a device (TID 1004).
- :func:`image_library`: TID 1600 Image Library with one TID 1601 entry per source image.
- :func:`study_summary_group`: the first TID 1501 group, "Study summary", listing the source series.
- :func:`section_text_container`: a TID 1500 "Qualitative Evaluations" container holding each section's
  lines as TEXT, so that viewers without measurement-group support still show the findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import cast

import highdicom as hd
from highdicom._standard_utils import does_iod_have_pixel_data
from highdicom.sr.enum import RelationshipTypeValues
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.results import codes as sn
from workers.results.card_words import plain, plain_title
from workers.results.findings import FindingsReport
from workers.results.header import SeriesSummary, deterministic_uid
from workers.results.section import ReportSection

_CONTAINS = RelationshipTypeValues.CONTAINS
_HAS_PROPERTIES = RelationshipTypeValues.HAS_PROPERTIES
_HAS_ACQ_CONTEXT = RelationshipTypeValues.HAS_ACQ_CONTEXT
_PIXELS = Code("{pixels}", "UCUM", "Pixels")
_MEASUREMENT_GROUP_TYPES = (
    hd.sr.MeasurementsAndQualitativeEvaluations,
    hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations,
    hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations,
)
MeasurementGroup = (
    hd.sr.MeasurementsAndQualitativeEvaluations
    | hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations
    | hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations
)


@lru_cache(maxsize=64)
def coded_modality(modality: str) -> Code | None:
    """The CID 29 (Acquisition Modality) code whose value is ``modality`` ("MR", "CT", …), if any. Cached:
    the lookup builds every code of the context group, and an SR asks once per series twice over."""
    for code in codes.cid29.concepts.values():
        if code.value == modality:
            return code
    return None


def device_observer_context(*, uid: str, name: str, manufacturer: str, model_name: str) -> hd.sr.ObservationContext:
    """TID 1001 Observation Context with the node as the (only) device observer (TID 1004)."""
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=uid, name=name, manufacturer_name=manufacturer, model_name=model_name
    )
    return hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.cid270.Device,
            observer_identifying_attributes=device,
        )
    )


@lru_cache(maxsize=256)
def _sop_class_has_pixels(sop_class_uid: str) -> bool | None:
    """Whether the IOD of a SOP class holds pixel data (None: unknown SOP class). Cached: the lookup
    scans the standard's tables."""
    try:
        return bool(does_iod_have_pixel_data(sop_class_uid))
    except (KeyError, ValueError):
        return None


def _is_image(ds: Dataset) -> bool:
    known = _sop_class_has_pixels(str(ds.SOPClassUID))
    return known if known is not None else ("PixelData" in ds or "Rows" in ds)


def _minimal_descriptors(ds: Dataset) -> list[hd.sr.ContentItem]:
    """TID 1602 descriptors available in any image header (modality, frame of reference, matrix)."""
    items: list[hd.sr.ContentItem] = []
    modality = coded_modality(str(ds.get("Modality", "")))
    if modality is not None:
        items.append(hd.sr.CodeContentItem(codes.DCM.Modality, modality, relationship_type=_HAS_ACQ_CONTEXT))
    if ds.get("FrameOfReferenceUID"):
        items.append(
            hd.sr.UIDRefContentItem(
                codes.DCM.FrameOfReferenceUID, ds.FrameOfReferenceUID, relationship_type=_HAS_ACQ_CONTEXT
            )
        )
    for keyword, concept in (("Rows", codes.DCM.PixelDataRows), ("Columns", codes.DCM.PixelDataColumns)):
        if ds.get(keyword):
            items.append(
                hd.sr.NumContentItem(concept, int(ds[keyword].value), _PIXELS, relationship_type=_HAS_ACQ_CONTEXT)
            )
    return items


def _entry(ds: Dataset) -> hd.sr.ImageContentItem:
    """TID 1601 Image Library Entry: the image reference (its descriptors are the group's, TID 1600)."""
    return hd.sr.ImageContentItem(
        name=Code("260753009", "SCT", "Source"),
        referenced_sop_class_uid=ds.SOPClassUID,
        referenced_sop_instance_uid=ds.SOPInstanceUID,
        relationship_type=_CONTAINS,
    )


def _group_descriptors(first: Dataset) -> list[hd.sr.ContentItem]:
    """TID 1602 descriptors shared by a series' images, stated once for its Image Library Group: modality,
    frame of reference and matrix (and, when the header has them, orientation and pixel spacing of the
    series' first image). Per-image descriptors would cost a content item per attribute per image, which
    makes a study of a thousand images slow to build and to display."""
    items = _minimal_descriptors(first)
    try:
        template = cast(Sequence[hd.sr.ContentItem], hd.sr.ImageLibraryEntryDescriptors(first))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return items
    present = {item.ConceptNameCodeSequence[0].CodeValue for item in items}
    for item in template:
        code = item.ConceptNameCodeSequence[0].CodeValue
        if code in present or code in _PER_IMAGE_CODES:
            continue
        items.append(item)
    return items


#: Descriptors that differ from image to image (Image Position (Patient) X/Y/Z), not stated for a group.
_PER_IMAGE_CODES = frozenset({"110901", "110902", "110903"})


def image_library(sources: Sequence[Dataset]) -> hd.sr.ContainerContentItem | None:
    """TID 1600 Image Library referencing every source image (non-image sources are left out), one group
    per series with the descriptors its images share. None when no source is an image."""
    groups: dict[str, list[Dataset]] = {}
    for ds in sources:
        if _is_image(ds):
            groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    if not groups:
        return None
    library = hd.sr.ContainerContentItem(name=codes.DCM.ImageLibrary, relationship_type=_CONTAINS)
    library.ContentSequence = hd.sr.ContentSequence()
    for members in groups.values():
        group = hd.sr.ContainerContentItem(name=codes.DCM.ImageLibraryGroup, relationship_type=_CONTAINS)
        group.ContentSequence = hd.sr.ContentSequence(_group_descriptors(members[0]))
        group.ContentSequence.extend(_entry(ds) for ds in members)
        library.ContentSequence.append(group)
    return library


def series_label(series: SeriesSummary) -> str:
    """The human-readable line for one series, e.g. "Series 3 (MR) Ax T2 FIESTA: 24 images"."""
    number = "?" if series.series_number is None else str(series.series_number)
    modality = f" ({series.modality})" if series.modality else ""
    description = f" {series.description}" if series.description else ""
    plural = "image" if series.images == 1 else "images"
    return f"Series {number}{modality}{description}: {series.images} {plural}"


def _series_item(series: SeriesSummary) -> hd.sr.TextContentItem:
    item = hd.sr.TextContentItem(sn.SERIES_SUMMARY, series_label(series), relationship_type=_CONTAINS)
    properties: list[hd.sr.ContentItem] = [
        hd.sr.UIDRefContentItem(sn.SERIES_INSTANCE_UID, series.series_instance_uid, relationship_type=_HAS_PROPERTIES)
    ]
    if series.series_number is not None:
        properties.append(
            hd.sr.NumContentItem(
                sn.SERIES_NUMBER, series.series_number, sn.UNIT_NO_UNITS, relationship_type=_HAS_PROPERTIES
            )
        )
    modality = coded_modality(series.modality)
    if modality is not None:
        properties.append(hd.sr.CodeContentItem(sn.MODALITY, modality, relationship_type=_HAS_PROPERTIES))
    if series.description:
        properties.append(
            hd.sr.TextContentItem(sn.SERIES_DESCRIPTION, series.description, relationship_type=_HAS_PROPERTIES)
        )
    properties.append(
        hd.sr.NumContentItem(sn.NUMBER_OF_IMAGES, series.images, sn.UNIT_IMAGES, relationship_type=_HAS_PROPERTIES)
    )
    item.ContentSequence = hd.sr.ContentSequence(properties)
    return item


def study_summary_group(
    study_instance_uid: str, series: Sequence[SeriesSummary]
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1501 group "Study summary": number of series and images, then one TEXT item per series with
    its UID, number, modality, description and image count as properties. The tracking UID depends only
    on the study, so amended reports keep tracking the same group."""
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=deterministic_uid(study_instance_uid, "study-summary"), identifier="Study summary"
        ),
        finding_type=sn.STUDY_SUMMARY,
        measurements=[
            hd.sr.Measurement(name=sn.NUMBER_OF_SERIES, value=len(series), unit=sn.UNIT_SERIES),
            hd.sr.Measurement(name=sn.NUMBER_OF_IMAGES, value=sum(s.images for s in series), unit=sn.UNIT_IMAGES),
        ],
    )
    group[0].ContentSequence.extend(_series_item(s) for s in series)
    return group


def section_text(section: ReportSection) -> str:
    """A section as plain text: title, lines, flags, and the confirmation notice (CR LF separated), in words as
    on the card; the rule IDs stay in the coded criteria groups, where a viewer shows them as codes."""
    parts = [plain_title(section.title), *(line for line in map(plain, section.lines) if line)]
    if section.flags:
        parts.append("Flags: " + "; ".join(plain(f) for f in section.flags))
    if section.needs_confirmation:
        parts.append("Needs confirmation by a radiologist (automated findings only).")
    return "\r\n".join(parts)


def section_text_container(
    sections: Sequence[ReportSection], findings: FindingsReport | None = None
) -> hd.sr.ContainerContentItem | None:
    """TID 1500 "Qualitative Evaluations" container: the outputs that were not assessable and the protocol
    notes (in words), then one TEXT item per section that has content."""
    items = []
    if findings is not None:
        items += [
            hd.sr.TextContentItem(sn.NOT_ASSESSABLE, n.text, relationship_type=_CONTAINS)
            for n in findings.not_assessable
        ]
        items += [hd.sr.TextContentItem(sn.PROTOCOL_NOTE, n.text, relationship_type=_CONTAINS) for n in findings.notes]
    items += [
        hd.sr.TextContentItem(sn.REPORT_SECTION, section_text(s), relationship_type=_CONTAINS)
        for s in sections
        if s.lines or s.flags or s.needs_confirmation
    ]
    if not items:
        return None
    container = hd.sr.ContainerContentItem(name=sn.QUALITATIVE_EVALUATIONS, relationship_type=_CONTAINS)
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def check_sections(sections: Sequence[ReportSection]) -> list[MeasurementGroup]:
    """Validate the sections and return their measurement groups in order."""
    if isinstance(sections, ReportSection) or not isinstance(sections, Sequence):
        raise TypeError(f"sections: expected a sequence of ReportSection, got {type(sections).__name__}")
    groups: list[MeasurementGroup] = []
    for i, section in enumerate(sections):
        if not isinstance(section, ReportSection):
            raise TypeError(f"sections[{i}]: expected a ReportSection, got {type(section).__name__}")
        if not isinstance(section.title, str) or not section.title.strip():
            raise ValueError(f"sections[{i}].title: {section.title!r} must be a non-empty string")
        for j, group in enumerate(section.sr_groups):
            if not isinstance(group, _MEASUREMENT_GROUP_TYPES):
                raise TypeError(
                    f"sections[{i}].sr_groups[{j}] ({section.title!r}): expected a TID 1501/1410/1411 "
                    f"measurement group, got {type(group).__name__}"
                )
            groups.append(group)
    return groups
