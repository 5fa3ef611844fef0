"""One entry point for the delivery code: :func:`send_report` to a configured RIS endpoint."""

from __future__ import annotations

import logging

from node.ris.endpoints import RisEndpointSettings
from node.ris.errors import RisDeliveryError
from node.ris.fhir import build_diagnostic_report, post_diagnostic_report
from node.ris.hl7 import build_oru_r01, check_ack, read_ack
from node.ris.mllp import exchange
from node.ris.summary import ReportSummary

log = logging.getLogger(__name__)


def send_report(endpoint: RisEndpointSettings, summary: ReportSummary) -> str:
    """Deliver ``summary`` to ``endpoint``; return a short receipt; raise :class:`RisDeliveryError`."""
    try:
        if endpoint.kind == "hl7_mllp":
            receipt = _send_hl7(endpoint, summary)
        elif endpoint.kind == "fhir":
            receipt = _send_fhir(endpoint, summary)
        else:  # pragma: no cover - the settings model admits only the two kinds
            raise RisDeliveryError(endpoint.name, f"unknown endpoint kind {endpoint.kind!r}")
    except ValueError as exc:  # the report cannot be built for this endpoint (e.g. no DICOM Patient ID)
        raise RisDeliveryError(endpoint.name, f"report not sent: {exc}") from None
    log.info(
        "report delivered",
        extra={
            "study_instance_uid": summary.study_instance_uid,
            "endpoint": endpoint.name,
            "receipt": receipt,
        },
    )
    return receipt


def _send_hl7(endpoint: RisEndpointSettings, summary: ReportSummary) -> str:
    message = build_oru_r01(summary, endpoint)
    control_id = str(message.segment("MSH")(10))
    answer = exchange(
        endpoint.host,
        endpoint.port,
        str(message),
        connect_timeout=endpoint.connect_timeout_seconds,
        timeout=endpoint.timeout_seconds,
        endpoint=endpoint.name,
    )
    ack = read_ack(answer, endpoint.name)
    check_ack(ack, control_id, endpoint.name)
    return f"{endpoint.name}: HL7 ACK AA for message {control_id}"


def _send_fhir(endpoint: RisEndpointSettings, summary: ReportSummary) -> str:
    response = post_diagnostic_report(endpoint, build_diagnostic_report(summary, endpoint))
    location = response.headers.get("Location") or response.headers.get("Content-Location") or ""
    where = f" at {location}" if location else ""
    return f"{endpoint.name}: FHIR DiagnosticReport accepted ({response.status_code}){where}"
