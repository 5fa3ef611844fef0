"""Sending one delivery: claim it, send its files to a DICOM destination (or its report to a RIS endpoint),
record the attempt (:func:`node.delivery.rows.record_attempt`).

A store that was refused or failed is never recorded as delivered: the row only becomes ``delivered``
when every object got a success (or warning) status from the destination.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.delivery.rows import claim, record_attempt
from node.dicom.scu import AssociationFailed, send_files
from node.dicom.tls import TlsSettingsError, client_context
from node.registry.db import Registry
from node.registry.models import Attempt, Delivery, DeliveryKind, DeliveryState, Result, ResultKind, Study
from node.ris.delivery import RisDeliveryError, send_report
from node.ris.summary import GRADES, ReportSummary
from node.settings import DestinationSettings, Settings
from workers.results.findings import FindingsReport


def _payload_files(session: Session, delivery: Delivery) -> list[Path]:
    if delivery.kind == DeliveryKind.ORIGINALS:
        return [Path(p) for p in delivery.original_paths]
    results = session.scalars(select(Result).where(Result.id.in_(delivery.result_ids))).all()
    return [Path(r.path) for r in sorted(results, key=lambda r: r.id)]


def send_to_destination(files: list[Path], dest: DestinationSettings, calling_aet: str) -> tuple[bool, str]:
    try:
        context = client_context(dest.tls_ca, dest.tls_certificate, dest.tls_private_key) if dest.tls else None
        outcomes = send_files(files, dest.ae_title, dest.host, dest.port, calling_aet=calling_aet, ssl_context=context)
    except (AssociationFailed, OSError, TlsSettingsError) as exc:
        return False, str(exc)[:500]
    failed = [o for o in outcomes if not o.ok]
    if failed:
        parts = [
            f"{o.path.name}: " + (f"status 0x{o.status:04X}" if o.status is not None else o.detail) for o in failed[:5]
        ]
        return False, f"{len(failed)} of {len(outcomes)} refused: " + "; ".join(parts)
    return True, f"{len(outcomes)} stored"


def attempt_delivery(registry: Registry, settings: Settings, delivery_id: int) -> DeliveryState | None:
    """Claim, send and record one attempt. Returns the new state, or None if someone else has it."""
    if not claim(registry, delivery_id):
        return None
    with registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        files = _payload_files(session, delivery)
        destination = delivery.destination
        kind = delivery.kind
        attempt = Attempt(delivery_id=delivery_id)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    if kind == DeliveryKind.RIS:
        ok, detail = send_to_ris(registry, settings, delivery_id)
        return record_attempt(registry, settings, delivery_id, attempt_id, ok, detail)
    try:
        dest = settings.destination(destination)
    except KeyError:
        ok, detail = False, f"destination {destination!r} is not configured"
    else:
        missing = [f.name for f in files if not f.exists()]
        if missing:
            ok, detail = False, f"result files missing: {missing[:3]}"
        else:
            ok, detail = send_to_destination(files, dest, settings.node.ae_title)
    return record_attempt(registry, settings, delivery_id, attempt_id, ok, detail)


def send_to_ris(registry: Registry, settings: Settings, delivery_id: int) -> tuple[bool, str]:
    """Send the grades, flags and priority of a delivery's SR to a RIS endpoint (HL7 ORU^R01 or FHIR)."""
    with registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        try:
            endpoint = settings.ris_endpoint(delivery.destination)
        except KeyError:
            return False, f"ris endpoint {delivery.destination!r} is not configured"
        summary = summary_from_registry(session, delivery)
    try:
        return True, send_report(endpoint, summary)
    except RisDeliveryError as exc:
        return False, str(exc)[:500]


def summary_from_registry(session: Session, delivery: Delivery) -> ReportSummary:
    """The RIS :class:`~node.ris.summary.ReportSummary` of a delivery's study revision (no patient name)."""
    study = session.get(Study, delivery.study_id)
    assert study is not None
    sr = session.scalar(
        select(Result).where(
            Result.study_id == study.id, Result.revision == delivery.revision, Result.kind == ResultKind.SR
        )
    )
    try:
        study_date = datetime.strptime(study.study_date or "", "%Y%m%d").date()
    except ValueError:
        study_date = None
    return ReportSummary(
        study_instance_uid=study.study_uid,
        accession_number=(study.accession_number or "")[:16],
        patient_key=study.patient_key or "unknown",
        study_date=study_date,
        grades={k: v for k, v in (study.grades or {}).items() if isinstance(v, str) and v in GRADES},
        flags=[f for f in (study.flags or []) if isinstance(f, str) and f],
        priority=study.priority,
        sr_sop_instance_uid=sr.sop_instance_uid if sr else "",
        amended=bool(sr and sr.predecessor_uid),
        patient_id=study.patient_id or "",
        patient_name=study.patient_name or "",
        not_graded=_not_graded(sr),
    )


def _not_graded(sr: Result | None) -> dict[str, str]:
    """The results the SR's findings report says are not graded, with why (none for an older report)."""
    try:
        report = FindingsReport.from_json((sr.summary or {}).get("findings") if sr is not None else None)
    except (KeyError, TypeError, ValueError):  # a report written before findings were stored
        return {}
    return {n.result: n.reason for n in report.not_graded}
