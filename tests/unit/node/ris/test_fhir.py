from __future__ import annotations

import json
from datetime import UTC, date, datetime

from node.ris import ReportSummary, RisEndpointSettings
from node.ris.fhir import GRADE_SYSTEM, REPORT_SYSTEM, build_diagnostic_report, report_identifier

ENDPOINT = RisEndpointSettings(
    name="fhir", kind="fhir", url="http://127.0.0.1:1/r4", patient_id_authority="urn:oid:1.2.3.99"
)
SUMMARY = ReportSummary(
    study_instance_uid="1.2.826.0.1.3680043.8.498.21",
    accession_number="A77",
    patient_key="PSEUDO-9",
    study_date=date(2024, 3, 5),
    grades={"csf_leak": "DEFINITE", "ich": "SUSPECTED"},
    flags=["ADC <= 1.21 at L2"],
    priority="urgent",
    sr_sop_instance_uid="1.2.826.0.1.3680043.8.498.22",
)


def test_diagnostic_report_fields() -> None:
    report = build_diagnostic_report(SUMMARY, ENDPOINT, now=datetime(2024, 3, 6, tzinfo=UTC))
    json.dumps(report)  # JSON-ready
    assert report["resourceType"] == "DiagnosticReport"
    assert report["status"] == "final"
    assert report["code"]["coding"][0]["code"] == "18748-4"
    assert report["subject"] == {"identifier": {"value": "PSEUDO-9", "system": "urn:oid:1.2.3.99"}}
    assert report["effectiveDateTime"] == "2024-03-05"
    assert report["issued"] == "2024-03-06T00:00:00+00:00"
    assert report["imagingStudy"][0]["identifier"] == {
        "system": "urn:dicom:uid",
        "value": "urn:oid:1.2.826.0.1.3680043.8.498.21",
    }
    assert report["identifier"][0] == {
        "use": "official",
        "system": REPORT_SYSTEM,
        "value": "1.2.826.0.1.3680043.8.498.21",
    }
    assert report_identifier(report) == f"{REPORT_SYSTEM}|1.2.826.0.1.3680043.8.498.21"
    assert report["identifier"][1]["value"] == "urn:oid:1.2.826.0.1.3680043.8.498.22"
    assert report["identifier"][2]["value"] == "A77"
    assert report["identifier"][2]["type"]["coding"][0]["code"] == "ACSN"
    codes = [c["coding"][0] for c in report["conclusionCode"]]
    assert [c["code"] for c in codes] == ["csf_leak:DEFINITE", "ich:SUSPECTED"]
    assert {c["system"] for c in codes} == {GRADE_SYSTEM}
    assert report["conclusion"] == (
        "ADC <= 1.21 at L2; CSF leak: definite; Intracranial hypotension on imaging: suspected; reading priority urgent"
    )
    assert report["extension"][0]["valueCode"] == "urgent"


def test_amended_and_minimal_report() -> None:
    bare = RisEndpointSettings(name="fhir", kind="fhir", url="http://127.0.0.1:1")
    amended = ReportSummary(
        **{
            **SUMMARY.__dict__,
            "amended": True,
            "study_date": None,
            "sr_sop_instance_uid": "",
            "accession_number": "",
        }
    )
    report = build_diagnostic_report(amended, bare)
    assert report["status"] == "amended"
    assert "effectiveDateTime" not in report
    assert [i["system"] for i in report["identifier"]] == [REPORT_SYSTEM], "the report's own identifier stays"
    assert report["subject"] == {"identifier": {"value": "PSEUDO-9"}}
