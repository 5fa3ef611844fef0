"""HL7 v2.5 ORU^R01 for a node result, and the reading of its ACK (python-hl7 parses both).

Message (valid in hl7apy STRICT): ``MSH`` (UTF-8 declared in MSH-18), ``PID`` (PID-3 per endpoint: the
pseudonymous key, type ``PI``, or the DICOM Patient ID, type ``MR``; PID-5 the name, or for a pseudonym the key
with name type ``S`` "coded pseudo-name"), ``OBR`` (OBR-2/OBR-18 accession number, OBR-3 the filler order number
— the Study Instance UID, the same for every amendment —, OBR-7 study date, OBR-20 Study Instance UID, OBR-25
``F`` or ``C`` when amended, OBR-27.6 priority), ``OBX`` per finding (``ST``, in words), per grade, abnormal first
(``CWE``; a result that is not graded is ``ST`` "not graded: <why>" with OBX-11 ``X``, results cannot be obtained), the
reading priority and the SR SOP Instance UID, and last ``ZDS`` (Study Instance UID, as IHE scheduled workflow
carries it; a Z segment between OBR and OBX would break the ORDER_OBSERVATION group). Text is escaped for the
HL7 delimiters (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``) and line breaks (``\\.br\\``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import hl7

from node.ris.endpoints import RisEndpointSettings
from node.ris.errors import MllpError
from node.ris.summary import ReportSummary
from node.routing.rules import Priority
from workers.criteria.words import NOT_ASSESSABLE_SUFFIX, NOT_GRADED_WORDS, result_title

ENCODING_CHARACTERS = "^~\\&"
CODING_SYSTEM = "L"
"""Local coding system for the observation identifiers and grade codes."""

HL7_PRIORITY: dict[Priority, str] = {
    Priority.STAT: "S",
    Priority.URGENT: "A",
    Priority.ROUTINE: "R",
    Priority.LOW: "R",
}
"""HL7 table 0027 priority codes (there is no "low"; the OBX carries the node's own value)."""

_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}


def escape(text: str) -> str:
    """Escape HL7 delimiters and line breaks in ``text``; drop other control characters."""
    out = []
    for char in text.replace("\r\n", "\n"):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char in "\r\n":
            out.append("\\.br\\")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            continue
        else:
            out.append(char)
    return "".join(out)


def result_name(name: str) -> str:
    """A result name as its title (:data:`workers.criteria.words.RESULT_TITLES`)."""
    return result_title(name)


def _xpn(name: str) -> str:
    """A DICOM person name (``FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX``) as HL7 XPN (family^given^middle^suffix^prefix)."""
    parts = (name.split("=")[0].split("^") + [""] * 5)[:5]
    family, given, middle, prefix, suffix = (escape(p) for p in parts)
    return "^".join([family, given, middle, suffix, prefix]).rstrip("^") or "^^^^^^U"


def _grade_display(grade: str) -> str:
    return grade.replace("_", " ").lower()


def build_oru_r01(
    summary: ReportSummary,
    endpoint: RisEndpointSettings,
    *,
    control_id: str | None = None,
    now: datetime | None = None,
) -> hl7.Message:
    """The ORU^R01 message for ``summary``; ``str(message)`` is the wire text (segments end with CR)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%d%H%M%S")
    control_id = control_id or hl7.generate_message_control_id()
    status = "C" if summary.amended else "F"
    e = escape
    study_date = summary.study_date.strftime("%Y%m%d") if summary.study_date else ""
    filler = summary.study_instance_uid
    identifier, name = summary.identity(endpoint.patient_id)
    id_type = "MR" if endpoint.patient_id == "dicom" else "PI"
    person = _xpn(name) if name else f"{e(identifier)}^^^^^^S"
    segments = [
        [
            "MSH",
            ENCODING_CHARACTERS,
            e(endpoint.sending_application),
            e(endpoint.sending_facility),
            e(endpoint.receiving_application),
            e(endpoint.receiving_facility),
            stamp,
            "",
            "ORU^R01^ORU_R01",
            e(control_id),
            "P",
            "2.5",
            "",
            "",
            "",
            "",
            "",
            "UNICODE UTF-8",
        ],
        ["PID", "1", "", f"{e(identifier)}^^^{e(endpoint.patient_id_authority)}^{id_type}", "", person],
        [
            "OBR",
            "1",
            e(summary.accession_number),
            f"{filler}^{e(endpoint.sending_application)}",
            f"SPINECRIT^Spine imaging criteria^{CODING_SYSTEM}",
            "",
            "",
            study_date,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            e(summary.accession_number),
            "",
            summary.study_instance_uid,
            "",
            stamp,
            "",
            "RAD",
            status,
            "",
            f"^^^^^{HL7_PRIORITY[summary.priority]}",
        ],
    ]
    observations: list[tuple[str, str, str, str]] = []  # value type, identifier, value, OBX-11 status
    for flag in summary.flags:
        if flag.endswith(NOT_ASSESSABLE_SUFFIX):  # an output that failed its check: no finding, nothing was read
            what = e(flag.removesuffix(NOT_ASSESSABLE_SUFFIX))
            observations.append(("ST", f"not_assessable^Not assessable (not graded)^{CODING_SYSTEM}", what, "X"))
        else:
            observations.append(("ST", f"finding^Finding^{CODING_SYSTEM}", e(flag), status))
    for grade_name, grade in summary.grades_in_reading_order():
        identifier = f"{e(grade_name)}^{e(result_name(grade_name))}^{CODING_SYSTEM}"
        if grade_name in summary.not_graded:
            why = e(f"{NOT_GRADED_WORDS}: {summary.not_graded[grade_name]}")
            observations.append(("ST", identifier, why, "X"))  # HL7 0085 X: results cannot be obtained
        else:
            observations.append(("CWE", identifier, f"{grade}^{_grade_display(grade)}^{CODING_SYSTEM}", status))
    observations.append(("ST", f"priority^Reading priority^{CODING_SYSTEM}", str(summary.priority), status))
    if summary.sr_sop_instance_uid:
        observations.append(
            (
                "ST",
                f"sr_sop_instance_uid^Structured report (SOP Instance UID)^{CODING_SYSTEM}",
                summary.sr_sop_instance_uid,
                status,
            )
        )
    for index, (value_type, obs_id, value, obs_status) in enumerate(observations, start=1):
        segments.append(
            ["OBX", str(index), value_type, obs_id, "", value, "", "", "", "", "", obs_status, "", "", stamp]
        )
    segments.append(["ZDS", f"{summary.study_instance_uid}^{e(endpoint.sending_application)}^Application^DICOM"])
    text = "\r".join("|".join(fields) for fields in segments) + "\r"
    return hl7.parse(text)


@dataclass(frozen=True)
class Acknowledgement:
    """MSA of an ACK: ``code`` (AA/AE/AR/CA/CE/CR), the acknowledged control ID and the reason text."""

    code: str
    control_id: str
    text: str


def read_ack(raw: str, endpoint: str) -> Acknowledgement:
    """Parse an ACK; raise :class:`MllpError` when it is not an HL7 message with an MSA segment."""
    try:
        message = hl7.parse(raw.strip("\r\n") + "\r")
        msa = message.segment("MSA")
    except (hl7.ParseException, KeyError, IndexError, ValueError) as exc:
        raise MllpError(endpoint, f"the answer is not an HL7 ACK with an MSA segment ({exc})") from None
    text = message.unescape(str(msa(3))) if len(msa) > 3 else ""
    try:
        err = message.segment("ERR")
        details = [message.unescape(str(err(i))) for i in (7, 8) if len(err) > i]  # diagnostic, user message
        text = "; ".join(t for t in (text, *details) if t)
    except KeyError:
        pass
    return Acknowledgement(code=str(msa(1)), control_id=str(msa(2)) if len(msa) > 2 else "", text=text)


def check_ack(ack: Acknowledgement, control_id: str, endpoint: str) -> None:
    """Raise :class:`MllpError` unless ``ack`` accepts (AA) the message ``control_id``."""
    if ack.control_id != control_id:
        raise MllpError(endpoint, f"ACK is for message {ack.control_id!r}, not {control_id!r}")
    if ack.code != "AA":
        reason = f": {ack.text}" if ack.text else ""
        raise MllpError(endpoint, f"RIS answered {ack.code or 'no code'}{reason}")
