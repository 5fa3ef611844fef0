"""Writing and reading the audit trail, and its RFC 5424 syslog form (IHE ATNA style).

Rows are only ever added (nothing here updates or deletes one). Actions: ``sign_in``, ``sign_out``,
``phi_view``, ``findings_entered``, ``finding_confirmed``, ``finding_rejected``, ``finding_withdrawn``,
``delivery_retry``, ``association`` (every DICOM association accepted or refused, with peer address and AE
titles). Patient names and IDs are never written here: studies are named by their Study Instance UID.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.audit.models import AuditEvent
from node.registry.db import Registry
from node.registry.models import utcnow

log = logging.getLogger(__name__)
APP_NAME = "spinenode"
#: syslog severity by outcome: notice for success, warning for failure or refusal
_SEVERITY = {"success": 5, "failure": 4, "refused": 4}
_FACILITY_AUTHPRIV = 10


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    outcome: str = "success",
    peer: str | None = None,
    study_uid: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            at=utcnow(),
            actor=actor[:64],
            action=action,
            outcome=outcome,
            peer=(peer or None) and peer[:64],
            study_uid=study_uid,
            detail=detail,
        )
    )


class AuditWriter:
    """Records events from threads that must not wait on the database (the SCP): a queue and a thread."""

    def __init__(self, registry: Registry, max_pending: int = 10000) -> None:
        self.registry = registry
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(max_pending)
        self._thread = threading.Thread(target=self._run, name="audit", daemon=True)
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, action: str, **fields: Any) -> None:
        try:
            self._queue.put_nowait({"action": action, **fields})
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 100, 10000):
                log.error("audit trail: %d events could not be queued (registry too slow)", self.dropped)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event queued so far is written."""
        done = threading.Event()
        self._queue.put({"action": "", "_done": done})
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while item is not None and len(batch) < 500:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            events = [e for e in batch if e is not None and "_done" not in e]
            if events:
                try:
                    with self.registry.session() as session:
                        for event in events:
                            record(session, **event)
                except Exception:
                    log.exception("audit trail: %d events not written", len(events))
            for marker in batch:
                if marker is not None and "_done" in marker:
                    marker["_done"].set()
            if None in batch:
                return


def events(session: Session, since: datetime | None = None, limit: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if limit is not None:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        return list(reversed(list(session.scalars(query))))
    return list(session.scalars(query))


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "peer": event.peer,
        "study_uid": event.study_uid,
        "detail": event.detail,
    }


def _sd_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_line(event: AuditEvent, hostname: str | None = None) -> str:
    """One RFC 5424 line: PRI VERSION TIMESTAMP HOST APP PROCID MSGID [SD] MSG."""
    pri = _FACILITY_AUTHPRIV * 8 + _SEVERITY.get(event.outcome, 5)
    stamp = event.at.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-")[:255].replace(" ", "_")
    params = {"actor": event.actor, "outcome": event.outcome}
    if event.peer:
        params["peer"] = event.peer
    if event.study_uid:
        params["study"] = event.study_uid
    params.update({k: _sd_value(v) for k, v in sorted(event.detail.items())})
    sd = "[audit@32473 " + " ".join(f'{k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    msgid = event.action[:32]
    return f"<{pri}>1 {stamp} {host} {APP_NAME} - {msgid} {sd} {event.action} {event.outcome}"
