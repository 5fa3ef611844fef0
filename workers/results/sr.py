"""The node's Structured Report: a TID 1500 Measurement Report in a Comprehensive 3D SR.

Content tree (PS3.16 TID 1500):

- title (CID 7021) "Imaging Measurement Report", language English (TID 1204);
- TID 1001 observation context with the node as device observer (TID 1004);
- procedure reported (CID 100, see :mod:`workers.results.procedure`);
- TID 1600 image library referencing every source image;
- "Imaging Measurements": the "Study summary" group, then every section's ``sr_groups`` in order;
- "Qualitative Evaluations": each section's lines as TEXT (for viewers that show text best).

The document joins the study of its sources (patient and study modules copied from the first source),
in a new series; the algorithm is named in the Contributing Equipment Sequence (PS3.3 C.12.1.1.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from workers.results.codes import coding_scheme_item
from workers.results.findings import FindingsReport
from workers.results.findings_sr import findings_groups
from workers.results.header import (
    MANUFACTURER,
    algorithm_equipment,
    check_datetime,
    check_long_string,
    check_new_object,
    check_sources,
    deterministic_uid,
    header_source,
    pin_creation_datetimes,
    summarize_series,
)
from workers.results.procedure import procedure_reported
from workers.results.roi_sr import planar_roi_groups
from workers.results.section import ReportSection
from workers.results.sr_content import (
    check_sections,
    device_observer_context,
    image_library,
    section_text_container,
    series_items,
    study_summary_group,
)
from workers.results.sr_library import mark_encoded
from workers.results.sr_precision import finish_content, stabilise_tracking_uids

DEVICE_OBSERVER_NAME = "SPINENODE"
SPECIFIC_CHARACTER_SET = "ISO_IR 192"
"""UTF-8, so that names decoded from any source character set and findings text (≤, µ) survive."""


def _check_predecessor(predecessor: Dataset | None, study_instance_uid: str, sop_instance_uid: str) -> None:
    if predecessor is None:
        return
    if not isinstance(predecessor, Dataset):
        raise TypeError(f"predecessor: expected a pydicom Dataset, got {type(predecessor).__name__}")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not predecessor.get(keyword):
            raise ValueError(f"predecessor: {keyword} is missing or empty")
    if predecessor.StudyInstanceUID != study_instance_uid:
        raise ValueError(
            f"predecessor.StudyInstanceUID {predecessor.StudyInstanceUID!r} is not the study of the sources "
            f"({study_instance_uid!r})"
        )
    if predecessor.SOPInstanceUID == sop_instance_uid:
        raise ValueError(
            f"sop_instance_uid: {sop_instance_uid!r} is the predecessor's UID; an amended report needs a new UID"
        )


def build_measurement_report(
    sources: Sequence[Dataset],
    sections: Sequence[ReportSection],
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int,
    instance_number: int,
    algorithm_name: str,
    algorithm_version: str,
    predecessor: Dataset | None = None,
    content_datetime: datetime | None = None,
    series_description: str = "SPINENODE measurement report",
    device_observer_uid: str | None = None,
    institution_name: str | None = None,
    findings: FindingsReport | None = None,
) -> hd.sr.Comprehensive3DSR:
    """Build the TID 1500 Measurement Report for one study.

    ``sources``: headers of the study's instances (read with ``stop_before_pixels``); they must share one
    Study Instance UID and Patient ID. ``sections``: the pipeline's :class:`ReportSection` objects, in
    report order. ``predecessor``: the report this one amends (referenced in the Predecessor Documents
    Sequence). ``content_datetime``: the content date-time; pass it for a reproducible object (None means
    now). ``findings``: the study's coded findings, reported first (see :mod:`workers.results.findings_sr`).
    ``device_observer_uid``: defaults to a UID derived from the observer name and algorithm name.

    The result is deterministic: the same arguments give the same encoded bytes. Section measurement
    groups must carry their own tracking UIDs for that to hold. Completion flag COMPLETE, preliminary
    flag PRELIMINARY (automated results), verification flag UNVERIFIED.
    """
    ordered = check_sources(sources)
    groups = check_sections(sections)
    check_new_object(
        ordered,
        series_instance_uid=series_instance_uid,
        sop_instance_uid=sop_instance_uid,
        series_number=series_number,
        instance_number=instance_number,
    )
    check_long_string("algorithm_name", algorithm_name)
    check_long_string("algorithm_version", algorithm_version)
    check_long_string("series_description", series_description)
    if institution_name is not None:
        check_long_string("institution_name", institution_name)
    when = check_datetime("content_datetime", content_datetime)
    study_instance_uid = str(ordered[0].StudyInstanceUID)
    _check_predecessor(predecessor, study_instance_uid, sop_instance_uid)

    series = summarize_series(ordered)
    summary = study_summary_group(study_instance_uid, series, with_series=False)
    observer_uid = device_observer_uid or deterministic_uid("device-observer", DEVICE_OBSERVER_NAME, algorithm_name)
    report = hd.sr.MeasurementReport(
        observation_context=device_observer_context(
            uid=observer_uid, name=DEVICE_OBSERVER_NAME, manufacturer=MANUFACTURER, model_name=algorithm_name
        ),
        procedure_reported=procedure_reported(ordered),
        imaging_measurements=[
            *(findings_groups(study_instance_uid, findings) if findings is not None else []),
            *planar_roi_groups(study_instance_uid, sections, ordered),
            summary,
            *groups,
        ],
        title=codes.cid7021.ImagingMeasurementReport,
    )
    root_items = report[0].ContentSequence
    library_at = len(root_items) - 1  # TID 1500 row 5 (image library) precedes row 6 (imaging measurements)
    text = section_text_container(sections, findings)
    if text is not None:
        root_items.append(text)
    report[0].ContinuityOfContent = "SEPARATE"
    finish_content(report[0])
    stabilise_tracking_uids(report[0], study_instance_uid)

    evidence = [header_source(ordered[0]), *ordered[1:]]
    # The image library (an entry per image) and the study summary's items (a handful per series) are most
    # of the content tree; highdicom copies and searches the whole tree while it builds the document (for
    # image references: neither holds one the evidence lacks, the library's are the evidence), so both
    # join after: the series after the summary's counts, the library, built finished and encoded, at its
    # place in the root.
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_final=False,
        is_verified=False,
        institution_name=institution_name,
        previous_versions=[predecessor] if predecessor is not None else None,
        contributing_equipment=[algorithm_equipment(algorithm_name, algorithm_version, when)],
        series_description=series_description,
        manufacturer_model_name=algorithm_name,
        software_versions=algorithm_version,
        content_date=when.date(),
        content_time=when.time(),
        series_date=when.date(),
        series_time=when.time(),
        coding_schemes=[coding_scheme_item()],
        specific_character_set=SPECIFIC_CHARACTER_SET,
    )
    per_series = series_items(series)
    for item in per_series:
        finish_content(item)
    summary[0].ContentSequence.extend(per_series)  # the SR holds the summary itself, not a copy
    library = image_library(ordered, SPECIFIC_CHARACTER_SET)
    if library is not None:
        sr.ContentSequence.insert(library_at, library)
        mark_encoded(sr)  # the library's encoded items are written as they are (workers.results.sr_library)
    pin_creation_datetimes(sr, when)
    return sr
