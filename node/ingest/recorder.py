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
import secrets
import threading
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
    """Insert instances (idempotent); reopen studies that had left ``receiving``. Returns study UIDs.

    A batch costs a fixed number of statements, whatever its size: which of its instances are known, its
    series' IDs (one query each), a study and series row for each one new to the registry, one
    ``executemany`` of the instance rows and the studies' update at the commit (no flush in between)."""
    items = list(items)
    touched: set[str] = set()
    if not items:
        return touched
    now = utcnow()
    with session.no_autoflush:
        known = set(
            session.scalars(
                select(Instance.sop_instance_uid).where(
                    Instance.sop_instance_uid.in_({i.header.sop_instance_uid for i in items})
                )
            )
        )
        fresh = [i for i in items if i.header.sop_instance_uid not in known]
        if not fresh:
            return touched
        series_ids: dict[str, int] = {
            uid: series_id
            for uid, series_id in session.execute(
                select(Series.series_uid, Series.id).where(Series.series_uid.in_({i.header.series_uid for i in fresh}))
            )
        }
        studies: dict[str, Study] = {}
        rows: list[dict[str, object]] = []
        for item in fresh:
            h = item.header
            if h.sop_instance_uid in known:  # twice in this batch
                continue
            known.add(h.sop_instance_uid)
            study = studies.get(h.study_uid)
            if study is None:
                study = studies[h.study_uid] = _study_for(session, item, keyer, now)
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
    """A new series row (the batch's query found none with this UID)."""
    series = Series(
        study_id=study.id,
        series_uid=h.series_uid,
        modality=h.modality,
        series_number=h.series_number,
        description=h.series_description,
    )
    session.add(series)
    session.flush()
    return series.id


class IngestRecorder:
    """A thread that writes :class:`Received` records to the registry in batches."""

    def __init__(self, registry: Registry, keyer: PatientKeyer, *, batch: int = 500, linger: float = 0.25) -> None:
        self.registry = registry
        self.keyer = keyer
        self.batch = batch
        self.linger = linger
        self._items: list[Received] = []
        self._pending = 0
        self._stopping = False
        self._lock = threading.Lock()
        self._arrived = threading.Event()  # set by the first record after the thread took the last batch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Received) -> None:
        """Queue one record (the SCP's thread: a list append; the recorder's thread is woken only by the
        first record of a batch, not by each one)."""
        with self._lock:
            self._pending += 1
            self._items.append(item)
            first = len(self._items) == 1
        if first:
            self._arrived.set()

    @property
    def pending(self) -> int:
        return self._pending

    def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        self._arrived.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self._arrived.wait()
            # Gather what arrives in the next moments: one transaction per batch, not per instance, keeps
            # this thread's share of the interpreter small while the SCP is busy. It sleeps meanwhile
            # instead of waking for every record.
            self._stop.wait(self.linger)
            with self._lock:
                items, self._items = self._items, []
                self._arrived.clear()
            for start in range(0, len(items), self.batch):
                self._write(items[start : start + self.batch])
            if self._stopping:
                with self._lock:
                    left, self._items = self._items, []
                for start in range(0, len(left), self.batch):
                    self._write(left[start : start + self.batch])
                return

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
