"""What the SR and the Secondary Capture share: checked sources, identity of the new objects, equipment.

Both objects join the study of their sources (same patient, same Study Instance UID) in a new series,
and both are deterministic: given the same sources, sections, UIDs and content date-time they encode to
the same bytes, so that re-running a study replaces objects in PACS instead of adding new ones.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import highdicom as hd
from pydicom import config
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sr.codedict import codes
from pydicom.uid import UID, generate_uid
from pydicom.valuerep import DA, DT, TM, validate_value

MANUFACTURER = "spinenode"
"""Manufacturer of every object the node writes (General Equipment, Contributing Equipment)."""

_HIGHDICOM_MANUFACTURER = "Highdicom open-source contributors"
_REQUIRED_SOURCE_ATTRIBUTES = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
_TYPE2_HEADER_ATTRIBUTES = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
)


@dataclass(frozen=True)
class SeriesSummary:
    """One source series as the report lists it. ``images`` counts frames (an enhanced multi-frame
    instance of 40 frames counts 40)."""

    series_instance_uid: str
    series_number: int | None
    modality: str
    description: str
    images: int


def deterministic_uid(*parts: str, namespace: str = "spinenode") -> str:
    """The one UID helper: a UID derived only from ``namespace`` and ``parts`` (PS3.5 B.2 hash-based UID
    under pydicom's root). The results use the default namespace; ``spinenode analyse`` and the phantoms
    their own, so that their objects never share a UID with a report of the node."""
    return str(generate_uid(entropy_srcs=[namespace, *parts]))


def _as_int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _sort_key(ds: Dataset) -> tuple[int, str, int, str]:
    return (
        _as_int(ds.get("SeriesNumber")) or 0,
        str(ds.SeriesInstanceUID),
        _as_int(ds.get("InstanceNumber")) or 0,
        str(ds.SOPInstanceUID),
    )


def check_sources(sources: Sequence[Dataset]) -> list[Dataset]:
    """Validate the source headers and return them de-duplicated (by SOP Instance UID) in a stable order
    (series number, series UID, instance number, SOP instance UID).

    Raises ``ValueError`` when there is no source, an identifying attribute is missing, or the sources
    span more than one study or patient; ``TypeError`` when an item is not a dataset.
    """
    if isinstance(sources, Dataset) or not isinstance(sources, Sequence):
        raise TypeError(f"sources: expected a sequence of pydicom Datasets, got {type(sources).__name__}")
    if len(sources) == 0:
        raise ValueError("sources: at least one source dataset is required")
    unique: dict[str, Dataset] = {}
    for index, ds in enumerate(sources):
        if not isinstance(ds, Dataset):
            raise TypeError(f"sources[{index}]: expected a pydicom Dataset, got {type(ds).__name__}")
        for keyword in _REQUIRED_SOURCE_ATTRIBUTES:
            if not ds.get(keyword):
                raise ValueError(f"sources[{index}]: {keyword} is missing or empty")
        if ds.StudyInstanceUID != sources[0].StudyInstanceUID:
            raise ValueError(
                f"sources[{index}].StudyInstanceUID {ds.StudyInstanceUID!r} differs from "
                f"sources[0].StudyInstanceUID {sources[0].StudyInstanceUID!r}: a report covers one study"
            )
        # The values are patient identifiers: the message names the field, never the value.
        if ds.get("PatientID", "") != sources[0].get("PatientID", ""):
            raise ValueError(f"sources[{index}].PatientID differs from sources[0].PatientID")
        unique.setdefault(str(ds.SOPInstanceUID), ds)
    return sorted(unique.values(), key=_sort_key)


def check_new_object(
    sources: Sequence[Dataset],
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int,
    instance_number: int,
) -> None:
    """Check the identity of a new object: valid UIDs that no source uses, positive numbers."""
    for name, uid in (("series_instance_uid", series_instance_uid), ("sop_instance_uid", sop_instance_uid)):
        if not isinstance(uid, str) or not UID(uid).is_valid:
            raise ValueError(f"{name}: {uid!r} is not a valid DICOM UID")
    for name, number in (("series_number", series_number), ("instance_number", instance_number)):
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"{name}: expected an int, got {type(number).__name__}")
        if number < 1:
            raise ValueError(f"{name}: {number} is not a positive integer")
    if any(ds.SeriesInstanceUID == series_instance_uid for ds in sources):
        raise ValueError(f"series_instance_uid: {series_instance_uid!r} is a source series; use a new series")
    if any(ds.SOPInstanceUID == sop_instance_uid for ds in sources):
        raise ValueError(f"sop_instance_uid: {sop_instance_uid!r} is the UID of a source instance")


def check_long_string(name: str, value: str) -> str:
    """Check a value for a LO attribute (1 to 64 characters, no backslash or control character)."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {type(value).__name__}")
    if not value.strip() or len(value) > 64 or "\\" in value or any(ord(c) < 32 for c in value):
        raise ValueError(f"{name}: {value!r} must be 1 to 64 characters without backslash or control characters")
    return value


def check_datetime(name: str, value: datetime | None) -> datetime:
    """The content date-time to use: ``value``, or now when it is None (then not reproducible)."""
    if value is None:
        return datetime.now().replace(microsecond=0)
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(value).__name__}")
    return value


def header_source(first: Dataset) -> Dataset:
    """A copy of the first source in which every Type 2 patient/study attribute exists (empty when absent),
    so that highdicom can copy the patient and study modules from it."""
    header = copy.deepcopy(first)
    drop_invalid_values(header)
    for keyword in _TYPE2_HEADER_ATTRIBUTES:
        if keyword not in header:
            setattr(header, keyword, None)
    return header


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR"})


def drop_invalid_values(ds: Dataset) -> list[str]:
    """Remove top-level values that break their VR (e.g. a Patient's Age of ``0Y``), so that a faulty
    source does not make the node's own objects invalid. Type 2 header attributes become empty instead.
    Returns the keywords changed (for tests and logs; never the values)."""
    changed = []
    for element in list(ds):
        if element.tag.group in (0x0002, 0x7FE0) or element.VR not in _TEXT_VRS or element.tag.is_private:
            continue
        values = element.value if isinstance(element.value, (list, MultiValue)) else [element.value]
        try:
            for value in values:
                if value not in (None, ""):
                    validate_value(element.VR, str(value), config.RAISE)
        except (ValueError, TypeError):
            keyword = element.keyword or str(element.tag)
            if keyword in _TYPE2_HEADER_ATTRIBUTES:
                element.value = None
            else:
                del ds[element.tag]
            changed.append(keyword)
    return changed


def summarize_series(sources: Sequence[Dataset]) -> list[SeriesSummary]:
    """One :class:`SeriesSummary` per source series, in the order of ``sources``."""
    grouped: dict[str, list[Dataset]] = {}
    for ds in sources:
        grouped.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    summaries = []
    for uid, members in grouped.items():
        first = members[0]
        images = sum(max(_as_int(ds.get("NumberOfFrames")) or 1, 1) for ds in members)
        summaries.append(
            SeriesSummary(
                series_instance_uid=uid,
                series_number=_as_int(first.get("SeriesNumber")),
                modality=str(first.get("Modality", "") or ""),
                description=str(first.get("SeriesDescription", "") or ""),
                images=images,
            )
        )
    return summaries


def algorithm_equipment(algorithm_name: str, algorithm_version: str, when: datetime) -> hd.ContributingEquipment:
    """Contributing Equipment (PS3.3 C.12.1, purpose: Processing Equipment) naming the algorithm."""
    return hd.ContributingEquipment(
        manufacturer=MANUFACTURER,
        purpose_of_reference=codes.DCM.ProcessingEquipment,
        manufacturer_model_name=algorithm_name,
        software_versions=algorithm_version,
        contribution_datetime=when,
        contribution_description="Automated analysis and report",
    )


def pin_creation_datetimes(ds: Dataset, when: datetime) -> None:
    """Replace the wall-clock times highdicom stamps (instance creation, its own contribution) by ``when``."""
    ds.InstanceCreationDate = DA(when.date())
    ds.InstanceCreationTime = TM(when.time())
    for item in ds.get("ContributingEquipmentSequence", []):
        if item.get("Manufacturer") == _HIGHDICOM_MANUFACTURER:
            item.ContributionDateTime = DT(when)
