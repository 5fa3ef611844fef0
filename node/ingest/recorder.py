"""Recording received instances in the registry, off the C-STORE hot path.

The SCP makes each instance durable in the spool first, acknowledges it, then hands a
:class:`~node.dicom.received.Received` record to :class:`IngestRecorder`, whose thread writes records to the registry in
batches. If the process dies with records still queued, nothing is lost: :func:`rescan_spool` at start
registers every spool file the registry does not know yet.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from node.dicom.headers import HeaderError, InstanceHeader, parse_header
from node.dicom.received import Received
from node.dicom.uids import is_valid_uid
from node.registry.db import Registry
from node.registry.models import Instance, Series, Study, StudyState, utcnow

log = logging.getLogger(__name__)


class PatientKeyer:
    """A pseudonymous patient key: HMAC of the patient ID with a secret kept in data_dir."""

    def __init__(self, data_dir: Path) -> None:
        key_file = data_dir / ".patient-key"
        data_dir.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        self._key = bytes.fromhex(key_file.read_text().strip())

    def __call__(self, patient_id: str | None, issuer: str | None) -> str | None:
        if not patient_id:
            return None
        message = f"{issuer or ''}\\{patient_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]


def record_instances(session: Session, items: Iterable[Received], keyer: PatientKeyer) -> set[str]:
    """Insert instances (idempotent); reopen studies that had left ``receiving``. Returns study UIDs."""
    items = list(items)
    touched: set[str] = set()
    now = utcnow()
    known = set(
        session.scalars(
            select(Instance.sop_instance_uid).where(
                Instance.sop_instance_uid.in_([i.header.sop_instance_uid for i in items])
            )
        )
    )
    studies: dict[str, Study] = {}
    series_ids: dict[str, int] = {}
    rows: list[dict[str, object]] = []
    for item in items:
        h = item.header
        if h.sop_instance_uid in known:
            continue
        known.add(h.sop_instance_uid)
        study = studies.get(h.study_uid) or _study_for(session, item, keyer, now)
        studies[h.study_uid] = study
        study.last_received_at = now
        if h.series_uid not in series_ids:
            series_ids[h.series_uid] = _series_for(session, study, h)
        rows.append(
            {
                "series_id": series_ids[h.series_uid],
                "sop_instance_uid": h.sop_instance_uid,
                "sop_class_uid": h.sop_class_uid,
                "transfer_syntax_uid": h.transfer_syntax_uid,
                "path": str(item.path),
                "size": item.size,
                "received_at": now,
            }
        )
        touched.add(h.study_uid)
    if rows:
        session.execute(insert(Instance), rows)  # one executemany, not an ORM object per instance
    return touched


def _study_for(session: Session, item: Received, keyer: PatientKeyer, now: datetime) -> Study:
    h = item.header
    study = session.scalar(select(Study).where(Study.study_uid == h.study_uid))
    if study is None:
        study = Study(
            study_uid=h.study_uid,
            state=StudyState.RECEIVING,
            patient_key=keyer(h.patient_id, h.issuer_of_patient_id),
            patient_name=h.patient_name,
            patient_id=h.patient_id,
            accession_number=h.accession_number,
            study_date=h.study_date,
            study_description=h.study_description,
            institution_name=h.institution_name,
            calling_aet=item.calling_aet,
            called_aet=item.called_aet,
            first_received_at=now,
            last_received_at=now,
            revision=1,
            flags=[],
            grades={},
        )
        session.add(study)
        session.flush()
    elif study.state != StudyState.RECEIVING:
        # Late-instance policy: reopen, and analyse again as a new revision (amended report).
        log.info("study %d reopened by a late instance (was %s)", study.id, study.state.value)
        study.state = StudyState.RECEIVING
        study.revision += 1
        study.reason = None
    return study


def _series_for(session: Session, study: Study, h: InstanceHeader) -> int:
    series_id = session.scalar(select(Series.id).where(Series.series_uid == h.series_uid))
    if series_id is None:
        series = Series(
            study_id=study.id,
            series_uid=h.series_uid,
            modality=h.modality,
            series_number=h.series_number,
            description=h.series_description,
        )
        session.add(series)
        session.flush()
        series_id = series.id
    return series_id


class IngestRecorder:
    """A thread that writes :class:`Received` records to the registry in batches."""

    def __init__(self, registry: Registry, keyer: PatientKeyer, *, batch: int = 500, linger: float = 0.25) -> None:
        self.registry = registry
        self.keyer = keyer
        self.batch = batch
        self.linger = linger
        self._queue: queue.Queue[Received | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ingest-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Received) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(item)

    @property
    def pending(self) -> int:
        return self._pending

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            items: list[Received] = [item]
            # Gather what arrives in the next moments: one transaction per batch, not per instance, keeps
            # this thread's share of the interpreter small while the SCP is busy.
            deadline = time.monotonic() + self.linger
            while len(items) < self.batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                items.append(more)
            self._write(items)

    def _write(self, items: list[Received]) -> None:
        for attempt in range(5):
            try:
                with self.registry.session() as session:
                    record_instances(session, items, self.keyer)
                break
            except Exception:  # the database may be briefly unavailable; the spool still has the files
                log.exception("registry write failed (attempt %d); will retry", attempt + 1)
                threading.Event().wait(min(2**attempt, 10))
        with self._lock:
            self._pending -= len(items)


def rescan_spool(registry: Registry, spool_files: Iterable[Path], keyer: PatientKeyer) -> int:
    """Register spool files unknown to the registry (after a crash). Returns how many were added."""
    with registry.session() as session:
        known = set(session.scalars(select(Instance.path)))
    missing: list[Received] = []
    for path in spool_files:
        if str(path) in known:
            continue
        try:
            header = parse_header(path)
        except HeaderError:
            log.warning("unreadable spool file %s left in place", path.name)
            continue
        if not all(is_valid_uid(u) for u in (header.study_uid, header.series_uid, header.sop_instance_uid)):
            continue
        missing.append(Received(header, path, path.stat().st_size))
    if missing:
        with registry.session() as session:
            record_instances(session, missing, keyer)
    return len(missing)
