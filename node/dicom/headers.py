"""Read the few header attributes the node needs from a received instance, without touching pixels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.tag import Tag

_TAGS = [
    Tag(k)
    for k in (
        "SOPClassUID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "Modality",
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "AccessionNumber",
        "StudyDate",
        "StudyDescription",
        "InstitutionName",
        "SeriesNumber",
        "SeriesDescription",
    )
]


class HeaderError(ValueError):
    """The dataset could not be parsed."""


@dataclass(frozen=True)
class InstanceHeader:
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    transfer_syntax_uid: str
    modality: str | None
    patient_name: str | None
    patient_id: str | None
    issuer_of_patient_id: str | None
    accession_number: str | None
    study_date: str | None
    study_description: str | None
    institution_name: str | None
    series_number: int | None
    series_description: str | None


def header_from_mapping(values: Mapping[str, Any] | Dataset, transfer_syntax_uid: str) -> InstanceHeader:
    """From keyword -> value (a pydicom Dataset, or the dict of :mod:`node.dicom.fastheader`)."""

    def text(keyword: str) -> str | None:
        value = values.get(keyword)
        if value is None or value == "":
            return None
        return str(value)[:256]

    try:
        series_number = values.get("SeriesNumber")
        number = int(str(series_number).strip()) if series_number not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    return InstanceHeader(
        sop_class_uid=str(values.get("SOPClassUID", "") or ""),
        sop_instance_uid=str(values.get("SOPInstanceUID", "") or ""),
        study_uid=str(values.get("StudyInstanceUID", "") or ""),
        series_uid=str(values.get("SeriesInstanceUID", "") or ""),
        transfer_syntax_uid=transfer_syntax_uid,
        modality=text("Modality"),
        patient_name=text("PatientName"),
        patient_id=text("PatientID"),
        issuer_of_patient_id=text("IssuerOfPatientID"),
        accession_number=text("AccessionNumber"),
        study_date=text("StudyDate"),
        study_description=text("StudyDescription"),
        institution_name=text("InstitutionName"),
        series_number=number,
        series_description=text("SeriesDescription"),
    )


def parse_header(encoded_file: bytes | Path) -> InstanceHeader:
    """Parse the header of an encoded DICOM file (bytes with preamble and meta, or a path)."""
    try:
        source = BytesIO(encoded_file) if isinstance(encoded_file, bytes) else str(encoded_file)
        ds = dcmread(source, stop_before_pixels=True, specific_tags=_TAGS)
        for tag in _TAGS:  # force decoding now so that bad values fail here
            if tag in ds:
                _ = ds[tag].value
        ts = str(ds.file_meta.get("TransferSyntaxUID", ""))
        return header_from_mapping(ds, ts)
    except HeaderError:
        raise
    except Exception as exc:  # pydicom raises many types on malformed input
        raise HeaderError(f"cannot parse dataset: {type(exc).__name__}: {str(exc)[:200]}") from None
