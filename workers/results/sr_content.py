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

import highdicom as hd
from highdicom._standard_utils import does_iod_have_pixel_data
from highdicom.sr.enum import RelationshipTypeValues
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.results import codes as sn
from workers.results import sr_library
from workers.results.card_words import plain, plain_title
from workers.results.findings import FindingsReport
from workers.results.header import SeriesSummary, deterministic_uid
from workers.results.section import ReportSection

_CONTAINS = RelationshipTypeValues.CONTAINS
_HAS_PROPERTIES = RelationshipTypeValues.HAS_PROPERTIES
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


def image_library(sources: Sequence[Dataset], character_set: str) -> hd.sr.ContainerContentItem | None:
    """TID 1600 Image Library referencing every source image (non-image sources are left out), one group
    per series with the descriptors its images share (:mod:`workers.results.sr_library`, which encodes it
    in ``character_set``, the SR's). None when no source is an image."""
    groups: dict[str, list[Dataset]] = {}
    for ds in sources:
        if _is_image(ds):
            groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    if not groups:
        return None
    modalities = {str(ds.get("Modality", "")) for members in groups.values() for ds in members[:1]}
    return sr_library.image_library(list(groups.values()), {m: coded_modality(m) for m in modalities}, character_set)


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
    study_instance_uid: str, series: Sequence[SeriesSummary], *, with_series: bool = True
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1501 group "Study summary": number of series and images, then one TEXT item per series with
    its UID, number, modality, description and image count as properties. The tracking UID depends only
    on the study, so amended reports keep tracking the same group. ``with_series=False``: without the
    items per series (:func:`series_items`, to be added to ``group[0].ContentSequence`` later)."""
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
    if with_series:
        group[0].ContentSequence.extend(series_items(series))
    return group


def series_items(series: Sequence[SeriesSummary]) -> list[hd.sr.TextContentItem]:
    """The "Study summary" group's item per series (:func:`study_summary_group`)."""
    return [_series_item(s) for s in series]


def section_text(section: ReportSection) -> str:
    """A section as plain text: title, lines, flags, and the confirmation notice (CR LF separated), in words as
    on the card; the rule IDs stay in the coded criteria groups, where a viewer shows them as codes."""
    parts = [plain_title(section.title), *(line for line in map(plain, section.lines) if line)]
    if section.flags:
        parts.append("Flags: " + "; ".join(plain(f) for f in section.flags))
    if section.needs_confirmation:
        parts.append("Needs confirmation by a radiologist (automated findings only).")
    return "\r\n".join(parts)


def findings_text(findings: FindingsReport) -> str:
    """ "Findings" and one line per finding, severity first, as on the card (CR LF separated)."""
    lines = [f"{f.severity.value.upper()}: {f.label}" for f in findings.findings] or [findings.no_finding_words]
    return "\r\n".join(["Findings", *lines])


def section_text_container(
    sections: Sequence[ReportSection], findings: FindingsReport | None = None
) -> hd.sr.ContainerContentItem | None:
    """TID 1500 "Qualitative Evaluations" container: the findings first (most severe first; or, when there is none,
    what the views say instead), the outputs that were not assessable and the protocol notes (in words), then one
    TEXT item per section that has content."""
    items = []
    if findings is not None:
        items.append(hd.sr.TextContentItem(sn.REPORT_SECTION, findings_text(findings), relationship_type=_CONTAINS))
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
