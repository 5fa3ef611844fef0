from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from node.ris import ReportSummary, RisEndpointSettings
from node.routing import Priority


def summary(**kwargs: Any) -> ReportSummary:
    base: dict[str, Any] = {
        "study_instance_uid": "1.2.826.0.1.3680043.8.498.1",
        "accession_number": "A123",
        "patient_key": "PSEUDO-7",
        "study_date": date(2024, 3, 5),
        "grades": {"csf_leak": "DEFINITE", "ich": "NONE"},
        "flags": ["CSF leak DEFINITE"],
        "priority": "urgent",
        "sr_sop_instance_uid": "1.2.826.0.1.3680043.8.498.2",
    }
    base.update(kwargs)
    return ReportSummary(**base)


def test_summary_normalises_priority_and_reads_as_a_line() -> None:
    value = summary()
    assert value.priority is Priority.URGENT
    assert value.conclusion() == "CSF leak DEFINITE; CSF leak: definite; reading priority urgent"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("study_instance_uid", "1.2.03", "study_instance_uid: '1.2.03' is not a DICOM UID"),
        ("study_instance_uid", "1." * 40 + "1", "study_instance_uid"),
        ("sr_sop_instance_uid", "abc", "sr_sop_instance_uid: 'abc' is not a DICOM UID"),
        ("accession_number", "X" * 17, "accession_number"),
        ("patient_key", " ", "patient_key: must be a non-empty text"),
        ("grades", {"csf_leak": "SURE"}, r"grades\['csf_leak'\]: 'SURE' is not a grade code"),
        ("grades", {"CSF Leak": "DEFINITE"}, "grades: result name 'CSF Leak' is not lower_snake_case"),
        ("flags", [""], "flags: expected non-empty texts"),
        ("priority", "asap", "priority: 'asap' is not one of"),
    ],
)
def test_summary_value_errors(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summary(**{field: value})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("study_date", "20240305", "study_date: expected a date or None"),
        ("grades", [("csf_leak", "DEFINITE")], "grades: expected a dict"),
        ("amended", "yes", "amended: expected a bool"),
    ],
)
def test_summary_type_errors(field: str, value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        summary(**{field: value})


def test_summary_without_date_or_sr_is_valid() -> None:
    value = summary(study_date=None, sr_sop_instance_uid="")
    assert value.study_date is None and value.sr_sop_instance_uid == ""


def test_endpoint_settings() -> None:
    mllp = RisEndpointSettings(name="ris", kind="hl7_mllp", host="127.0.0.1", port=2575)
    assert mllp.timeout_seconds == 30.0
    fhir = RisEndpointSettings(name="fhir", kind="fhir", url="https://fhir.example/r4")
    assert fhir.connect_timeout_seconds == 5.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "hl7_mllp", "host": "127.0.0.1"}, "hl7_mllp needs host and port"),
        ({"kind": "hl7_mllp", "port": 2575}, "hl7_mllp needs host and port"),
        ({"kind": "hl7_mllp", "host": "h", "port": 1, "url": "http://x"}, "hl7_mllp takes no url"),
        ({"kind": "fhir", "url": "fhir.example"}, "fhir needs an http"),
        ({"kind": "fhir", "url": "http://x", "host": "h"}, "fhir takes url, not host/port"),
        ({"kind": "dicom"}, "kind"),
        ({"kind": "fhir", "url": "http://x", "timeout_seconds": 0}, "timeout_seconds"),
        ({"kind": "fhir", "url": "http://x", "retries": 3}, "retries"),
        ({"kind": "hl7_mllp", "host": "h", "port": 70000}, "port"),
    ],
)
def test_endpoint_settings_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RisEndpointSettings.model_validate({"name": "ris", **data})
