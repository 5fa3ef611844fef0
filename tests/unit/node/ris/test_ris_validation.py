"""What a RIS accepts: the ORU^R01 through hl7apy's STRICT validation, the DiagnosticReport through
fhir.resources 6.1.0 (FHIR 4.0.1, R4). fhir.resources 6.1.0 needs pydantic 1, which clashes with the node's
pydantic 2, so it lives in its own environment (scripts/setup-test-env creates it; SPINENODE_FHIR_VENV names
it) and validates in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from node.ris import ReportSummary, RisEndpointSettings
from node.ris.fhir import build_diagnostic_report
from node.ris.hl7 import build_oru_r01

FHIR_VENV = Path(os.environ.get("SPINENODE_FHIR_VENV", "/var/tmp/spinenode-fhir-r4"))
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SUMMARY = ReportSummary(
    study_instance_uid="1.2.826.0.1.3680043.8.498.77",
    accession_number="ACC77",
    patient_key="9f2c4e1a7b3d5e6f",
    study_date=date(2026, 11, 30),
    grades={"csf_leak": "SUSPECTED", "spinal_mri": "SUSPECTED", "ich": "NONE"},
    flags=["Cord compression 46 % at C5", "Epidural fluid C7–T2"],
    priority="urgent",
    sr_sop_instance_uid="1.2.826.0.1.3680043.8.498.78",
    patient_id="MRN-1234",
    patient_name="DOE^JANE",
)
MLLP = RisEndpointSettings(name="ris", kind="hl7_mllp", host="127.0.0.1", port=2575, patient_id_authority="HOSP")
FHIR = RisEndpointSettings(name="fhir", kind="fhir", url="http://127.0.0.1:1/r4", patient_id_authority="urn:oid:1.2.3")


@pytest.mark.parametrize("patient_id", ["pseudonym", "dicom"])
@pytest.mark.parametrize("amended", [False, True])
def test_oru_r01_passes_hl7apy_strict_validation(patient_id: str, amended: bool) -> None:
    endpoint = MLLP.model_copy(update={"patient_id": patient_id})
    summary = ReportSummary(**{**SUMMARY.__dict__, "amended": amended})
    text = str(build_oru_r01(summary, endpoint, control_id="C1", now=NOW))
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert message.validate() is True
    group = message.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION
    assert len(message.ORU_R01_PATIENT_RESULT.children) >= 2
    assert group.OBR.obr_3.ei_1.value == SUMMARY.study_instance_uid
    labels = [obs.OBX.obx_3.ce_2.value for obs in group.ORU_R01_OBSERVATION]
    assert labels[:3] == ["Finding", "Finding", "CSF leak"]


def test_invalid_message_is_refused_by_the_validator() -> None:
    # The check can fail: PID-5 removed from a message we built, as the old writer did.
    text = str(build_oru_r01(SUMMARY, MLLP, control_id="C2", now=NOW))
    broken = "\r".join("|".join(s.split("|")[:4]) if s.startswith("PID") else s for s in text.split("\r"))
    from hl7apy.exceptions import ValidationError

    with pytest.raises(ValidationError):
        parse_message(broken, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True).validate()


def _validate_r4(resource: dict[str, object]) -> subprocess.CompletedProcess[str]:
    python = FHIR_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no FHIR R4 validator environment at {FHIR_VENV}: run scripts/setup-test-env")
    code = (
        "import json, sys\n"
        "import fhir.resources\n"
        "assert fhir.resources.__version__ == '6.1.0', fhir.resources.__version__\n"
        "from fhir.resources.diagnosticreport import DiagnosticReport\n"
        "report = DiagnosticReport.parse_obj(json.load(sys.stdin))\n"
        "print(report.resource_type, report.status, len(report.imagingStudy or []))\n"
    )
    return subprocess.run(
        [str(python), "-c", code], input=json.dumps(resource), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("patient_id", ["pseudonym", "dicom"])
def test_diagnostic_report_is_valid_fhir_r4(patient_id: str) -> None:
    endpoint = FHIR.model_copy(update={"patient_id": patient_id})
    for amended in (False, True):
        summary = ReportSummary(**{**SUMMARY.__dict__, "amended": amended})
        report = build_diagnostic_report(summary, endpoint, now=NOW)
        done = _validate_r4(report)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == ["DiagnosticReport", "amended" if amended else "final", "1"]
    expected = "MRN-1234" if patient_id == "dicom" else SUMMARY.patient_key
    assert report["subject"]["identifier"]["value"] == expected


def test_the_r4_validator_refuses_an_r5_field() -> None:
    report = build_diagnostic_report(SUMMARY, FHIR, now=NOW)
    report["study"] = report.pop("imagingStudy")  # R5's name for it
    done = _validate_r4(report)
    assert done.returncode != 0 and "study" in done.stderr


def test_an_endpoint_asking_for_the_dicom_patient_id_of_a_study_without_one_is_a_delivery_failure() -> None:
    from node.ris import RisDeliveryError, send_report

    endpoint = MLLP.model_copy(update={"patient_id": "dicom"})
    with pytest.raises(RisDeliveryError, match="report not sent: patient_id"):
        send_report(endpoint, ReportSummary(**{**SUMMARY.__dict__, "patient_id": ""}))


def test_a_result_not_graded_is_valid_hl7_and_fhir_r4() -> None:
    why = "CT myelography could not be assessed: metal artefact on 9 slices"
    summary = ReportSummary(
        **{
            **SUMMARY.__dict__,
            "grades": {"csf_leak": "NONE", "ct_myelography": "NONE", "ich": "NONE"},
            "flags": ["CT myelography: not assessable"],
            "not_graded": {"csf_leak": why, "ct_myelography": why},
        }
    )
    text = str(build_oru_r01(summary, MLLP, control_id="C3", now=NOW))
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert message.validate() is True
    statuses = [
        obs.OBX.obx_11.value for obs in message.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION.ORU_R01_OBSERVATION
    ]
    # the two grades not graded and the output that could not be assessed: results that cannot be obtained
    assert statuses.count("X") == 3 and statuses.count("F") == len(statuses) - 3
    report = build_diagnostic_report(summary, FHIR, now=NOW)
    done = _validate_r4(report)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [c.get("coding") is None for c in report["conclusionCode"]] == [True, True, False]
    assert report["conclusion"].startswith(f"CT myelography: not assessable; CSF leak: not graded: {why}")


@pytest.mark.parametrize(
    ("not_graded", "message"),
    [({"CSF leak": "metal"}, "not lower_snake_case"), ({"csf_leak": " "}, "must be words"), ([], "expected a dict")],
)
def test_not_graded_needs_result_names_and_reasons(not_graded: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        ReportSummary(**{**SUMMARY.__dict__, "not_graded": not_graded})
