"""One instance's header as the receive path records it, for registry tests (no file behind it)."""

from __future__ import annotations

from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from node.dicom.headers import InstanceHeader


def instance_header(study: str, series: str, sop: str) -> InstanceHeader:
    """An MR image of a sagittal T2 series of one patient (the same name, ID and accession on every call)."""
    return InstanceHeader(
        sop_class_uid=str(MRImageStorage),
        sop_instance_uid=sop,
        study_uid=study,
        series_uid=series,
        transfer_syntax_uid=str(ExplicitVRLittleEndian),
        modality="MR",
        patient_name="DOE^JANE",
        patient_id="P1",
        issuer_of_patient_id=None,
        accession_number="A1",
        study_date="20260101",
        study_description="spine",
        institution_name="Hospital",
        series_number=1,
        series_description="Sag T2",
    )
