"""FHIR R4 DiagnosticReport for a node result, and its conditional update on a FHIR server (httpx).

``status`` final/amended; ``code`` LOINC 18748-4 (diagnostic imaging study); ``subject`` by identifier
(the patient key, or the DICOM Patient ID for endpoints with ``patient_id = "dicom"``); ``effectiveDateTime``
the study date; ``conclusion`` one readable line (findings first); ``conclusionCode`` one CodeableConcept per
grade (a result that is not graded has no coding, only the text "… not graded: <why>"); ``imagingStudy`` a
logical reference by the Study Instance UID (``urn:dicom:uid``); identifiers: the
report's own (system :data:`REPORT_SYSTEM`, value the Study Instance UID — the same for every amendment), the
SR SOP Instance UID and the accession number (ACSN).

Every send is ``PUT {url}/DiagnosticReport?identifier=REPORT_SYSTEM|<study uid>`` (FHIR conditional update):
the first creates the resource, an amendment updates the same one instead of adding a second report.
Validated against R4 with fhir.resources 6.1.0 in the tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from node.ris.endpoints import RisEndpointSettings
from node.ris.errors import FhirError
from node.ris.hl7 import result_name
from node.ris.summary import ReportSummary

DICOM_UID_SYSTEM = "urn:dicom:uid"
GRADE_SYSTEM = "urn:spinenode:criteria-grade"
PRIORITY_EXTENSION = "urn:spinenode:worklist-priority"
FHIR_JSON = "application/fhir+json"
REPORT_SYSTEM = "urn:spinenode:diagnostic-report"
BODY_EXCERPT = 300


def _uid(uid: str) -> dict[str, str]:
    return {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{uid}"}


def build_diagnostic_report(
    summary: ReportSummary, endpoint: RisEndpointSettings, *, now: datetime | None = None
) -> dict[str, Any]:
    """The DiagnosticReport resource (a JSON-ready dict) for ``summary``."""
    now = now or datetime.now(UTC)
    identifiers: list[dict[str, Any]] = [
        {"use": "official", "system": REPORT_SYSTEM, "value": summary.study_instance_uid}
    ]
    if summary.sr_sop_instance_uid:
        identifiers.append(_uid(summary.sr_sop_instance_uid))
    if summary.accession_number:
        identifiers.append(
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
                "value": summary.accession_number,
            }
        )
    identifier, _name = summary.identity(endpoint.patient_id)
    subject: dict[str, Any] = {"value": identifier}
    if endpoint.patient_id_authority:
        subject["system"] = endpoint.patient_id_authority
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": identifiers,
        "status": "amended" if summary.amended else "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                        "code": "RAD",
                        "display": "Radiology",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}],
            "text": "Spine imaging criteria",
        },
        "subject": {"identifier": subject},
        "issued": now.isoformat(timespec="seconds"),
        "imagingStudy": [{"type": "ImagingStudy", "identifier": _uid(summary.study_instance_uid)}],
        "conclusion": summary.conclusion(),
        "conclusionCode": [_conclusion_code(summary, name, grade) for name, grade in summary.grades_in_reading_order()],
        "extension": [{"url": PRIORITY_EXTENSION, "valueCode": str(summary.priority)}],
    }
    if summary.study_date is not None:
        report["effectiveDateTime"] = summary.study_date.isoformat()
    return report


def _conclusion_code(summary: ReportSummary, name: str, grade: str) -> dict[str, Any]:
    """One grade as a CodeableConcept; a result that is not graded carries no grade code, only why in words."""
    if name in summary.not_graded:
        return {"text": summary.not_graded_text(name)}
    words = f"{result_name(name)}: {_words(grade)}"
    return {"coding": [{"system": GRADE_SYSTEM, "code": f"{name}:{grade}", "display": words}], "text": words}


def _words(grade: str) -> str:
    return grade.replace("_", " ").lower()


def report_identifier(report: dict[str, Any]) -> str:
    """The search value of the report's own identifier (``system|value``)."""
    own = next(i for i in report["identifier"] if i.get("system") == REPORT_SYSTEM)
    return f"{REPORT_SYSTEM}|{own['value']}"


def post_diagnostic_report(endpoint: RisEndpointSettings, report: dict[str, Any]) -> httpx.Response:
    """Create or update ``report`` by its identifier (conditional update, ``PUT {url}/DiagnosticReport?
    identifier=…``); raise :class:`FhirError` unless the status is 2xx."""
    base = endpoint.url.rstrip("/") + "/DiagnosticReport"
    url = f"{base}?identifier={quote(report_identifier(report), safe='')}"
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if endpoint.bearer_token:
        headers["Authorization"] = f"Bearer {endpoint.bearer_token}"
    timeout = httpx.Timeout(endpoint.timeout_seconds, connect=endpoint.connect_timeout_seconds)
    try:
        response = httpx.put(url, json=report, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise FhirError(endpoint.name, f"PUT {base} failed: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        excerpt = " ".join(response.text.split())[:BODY_EXCERPT]
        raise FhirError(endpoint.name, f"PUT {base} answered {response.status_code}: {excerpt}", response.status_code)
    return response
