from __future__ import annotations

from datetime import UTC, date, datetime

import hl7
import pytest

from node.ris import MllpError, ReportSummary, RisEndpointSettings
from node.ris.hl7 import Acknowledgement, build_oru_r01, check_ack, escape, read_ack

ENDPOINT = RisEndpointSettings(
    name="ris",
    kind="hl7_mllp",
    host="127.0.0.1",
    port=2575,
    sending_facility="HOSP",
    receiving_application="RISAPP",
    patient_id_authority="SPINENODE-PSEUDO",
)
TRICKY = "ADC <= 1.21 at L2 | C7&T1 ~ 4^2 \\ back\nslash 脊髄"
SUMMARY = ReportSummary(
    study_instance_uid="1.2.826.0.1.3680043.8.498.11",
    accession_number="ACC^7",
    patient_key="P|7",
    study_date=date(2024, 3, 5),
    grades={"csf_leak": "DEFINITE", "per_exam.spinal_mri": "STRONGLY_SUSPECTED"},
    flags=[TRICKY, "CSF leak DEFINITE"],
    priority="stat",
    sr_sop_instance_uid="1.2.826.0.1.3680043.8.498.12",
    patient_id="PID-0815",
    patient_name="MÜLLER^JÖRG",
)
NOW = datetime(2024, 3, 6, 7, 8, 9, tzinfo=UTC)


def parsed(summary: ReportSummary = SUMMARY) -> hl7.Message:
    text = str(build_oru_r01(summary, ENDPOINT, control_id="MSG0001", now=NOW))
    assert text.endswith("\r") and "\n" not in text
    return hl7.parse(text)


def test_msh_declares_oru_r01_v25_utf8() -> None:
    msh = parsed().segment("MSH")
    assert str(msh(9)) == "ORU^R01^ORU_R01"
    assert str(msh(10)) == "MSG0001"
    assert str(msh(12)) == "2.5"
    assert str(msh(18)) == "UNICODE UTF-8"
    assert str(msh(3)) == "SPINENODE" and str(msh(4)) == "HOSP" and str(msh(5)) == "RISAPP"
    assert str(msh(7)) == "20240306070809"


def test_pid_carries_the_patient_key_escaped_and_a_coded_pseudo_name() -> None:
    message = parsed()
    pid = message.segment("PID")
    assert message.unescape(str(pid(3)(1)(1))) == "P|7"
    assert str(pid(3)(1)(4)) == "SPINENODE-PSEUDO"
    assert str(pid(3)(1)(5)) == "PI"
    assert message.unescape(str(pid(5)(1)(1))) == "P|7" and str(pid(5)(1)(7)) == "S", "HL7 0200 S: pseudo-name"
    assert "MÜLLER" not in str(message) and "PID-0815" not in str(message)


def test_pid_carries_the_dicom_patient_id_where_the_endpoint_asks() -> None:
    endpoint = ENDPOINT.model_copy(update={"patient_id": "dicom", "patient_id_authority": "HOSP-MRN"})
    message = hl7.parse(str(build_oru_r01(SUMMARY, endpoint, control_id="M2", now=NOW)))
    pid = message.segment("PID")
    assert str(pid(3)(1)(1)) == "PID-0815" and str(pid(3)(1)(5)) == "MR"
    assert str(pid(5)(1)(1)) == "MÜLLER" and str(pid(5)(1)(2)) == "JÖRG"
    without = ReportSummary(**{**SUMMARY.__dict__, "patient_id": ""})
    with pytest.raises(ValueError, match="patient_id"):
        build_oru_r01(without, endpoint)


def test_obr_accession_study_uid_status_priority() -> None:
    message = parsed()
    obr = message.segment("OBR")
    assert message.unescape(str(obr(2))) == "ACC^7"
    assert message.unescape(str(obr(18))) == "ACC^7"
    assert str(obr(3)(1)(1)) == SUMMARY.study_instance_uid, "filler order number: the same for every amendment"
    assert str(obr(7)) == "20240305"
    assert str(obr(20)) == SUMMARY.study_instance_uid
    assert str(obr(25)) == "F"
    assert str(obr(27)(1)(6)) == "S"
    assert str(message.segment("ZDS")(1)(1)(1)) == SUMMARY.study_instance_uid
    assert [str(seg(0)) for seg in message][-1] == "ZDS", "the Z segment ends the message"


def test_obx_per_grade_flag_priority_and_sr() -> None:
    message = parsed()
    obx = message.segments("OBX")
    rows = [(str(o(2)), str(o(3)(1)(1)), message.unescape(str(o(5)))) for o in obx]
    assert rows[0] == ("ST", "finding", TRICKY.replace("\n", "\r"))
    assert rows[1] == ("ST", "finding", "CSF leak DEFINITE")
    assert rows[2][:2] == ("CWE", "csf_leak") and rows[2][2] == "DEFINITE^definite^L"
    assert rows[3][:2] == ("CWE", "per_exam.spinal_mri") and rows[3][2].startswith("STRONGLY_SUSPECTED^")
    assert rows[4] == ("ST", "priority", "stat")
    assert rows[5] == ("ST", "sr_sop_instance_uid", SUMMARY.sr_sop_instance_uid)
    labels = [str(o(3)(1)(2)) for o in obx]
    assert labels[:5] == ["Finding", "Finding", "CSF leak", "CSF leak on spinal MRI", "Reading priority"]
    assert [str(o(1)) for o in obx] == ["1", "2", "3", "4", "5", "6"]
    assert {str(o(11)) for o in obx} == {"F"}


def test_amended_report_uses_correction_status() -> None:
    amended = ReportSummary(**{**SUMMARY.__dict__, "amended": True, "sr_sop_instance_uid": ""})
    message = parsed(amended)
    assert str(message.segment("OBR")(25)) == "C"
    assert {str(o(11)) for o in message.segments("OBX")} == {"C"}
    assert str(message.segment("OBR")(3)(1)(1)) == SUMMARY.study_instance_uid
    assert "sr_sop_instance_uid" not in str(message)


def test_escape() -> None:
    assert escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    assert escape("one\r\ntwo\nthree") == "one\\.br\\two\\.br\\three"
    assert escape("bell\x07") == "bell"
    assert escape("脊髄") == "脊髄"


def test_read_ack_with_error_text() -> None:
    source = parsed()
    ack = source.create_ack("AE", message_id="ACK1")
    ack.segment("MSA").assign_field("Unknown \\T\\ patient", 3)
    text = str(ack) + "ERR|||||||no PID-3 match|Patient not found\r"
    result = read_ack(text, "ris")
    assert result == Acknowledgement("AE", "MSG0001", "Unknown & patient; no PID-3 match; Patient not found")


def test_read_ack_rejects_non_ack() -> None:
    with pytest.raises(MllpError, match="not an HL7 ACK"):
        read_ack("MSH|^~\\&|X\rPID|1\r", "ris")
    with pytest.raises(MllpError, match="not an HL7 ACK"):
        read_ack("hello", "ris")


def test_check_ack() -> None:
    check_ack(Acknowledgement("AA", "MSG0001", ""), "MSG0001", "ris")
    with pytest.raises(MllpError, match="RIS answered AR: bad order"):
        check_ack(Acknowledgement("AR", "MSG0001", "bad order"), "MSG0001", "ris")
    with pytest.raises(MllpError, match="RIS answered CA"):
        check_ack(Acknowledgement("CA", "MSG0001", ""), "MSG0001", "ris")
    with pytest.raises(MllpError, match="ACK is for message 'OTHER'"):
        check_ack(Acknowledgement("AA", "OTHER", ""), "MSG0001", "ris")


def test_an_output_that_could_not_be_assessed_is_no_finding_and_is_sent_as_not_obtained() -> None:
    summary = ReportSummary(
        study_instance_uid="1.2.826.0.1.3680043.8.498.13",
        accession_number="ACC8",
        patient_key="P8",
        study_date=None,
        grades={"csf_leak": "NONE"},
        flags=["Marrow lesion T2: ADC 0.75, suspicious for malignancy", "Spinal cord shape and area: not assessable"],
        not_graded={"csf_leak": "CT myelography could not be assessed: metal artefact"},
    )
    message = parsed(summary)
    rows = [
        (str(o(3)(1)(1)), str(o(3)(1)(2)), message.unescape(str(o(5))), str(o(11))) for o in message.segments("OBX")
    ]
    assert rows[0] == ("finding", "Finding", "Marrow lesion T2: ADC 0.75, suspicious for malignancy", "F")
    assert rows[1] == ("not_assessable", "Not assessable (not graded)", "Spinal cord shape and area", "X")
    assert not any(r[0] == "finding" and "not assessable" in r[2] for r in rows)
