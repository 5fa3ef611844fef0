"""Index of issued SRs (:class:`~node.registry.models.ArchiveEntry`) and its search.

Entries are made from the SR ``Result`` rows (their ``summary`` JSON holds flags and the criteria result)
and the codes found in the SR file's content tree. :func:`index_new_results` is idempotent and cheap when
nothing is new; :func:`search` calls it first so the archive is never behind the registry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from node.registry.models import ArchiveEntry, Result, ResultKind, Study
from node.registry.views import iso_time

log = logging.getLogger(__name__)

GRADE_KEYS = ("csf_leak", "ich", "ich_dx", "ebp_eligible", "spinal_mri", "ri_cisternography", "ct_myelography")
_GRADE_RE = re.compile(r"^[a-z_]+:[A-Za-z_]+$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ArchiveQueryError(ValueError):
    """An invalid archive filter; the message names the parameter and the value."""


def grades_of(criteria: dict[str, Any] | None) -> dict[str, Any]:
    """The grade per key (``csf_leak``, ``ich``, ``ich_dx``, the exams the study holds, ``ebp_eligible``) from a
    criteria result."""
    if not criteria:
        return {}
    grades: dict[str, Any] = {}
    for key in ("csf_leak", "ich", "ich_dx"):
        if isinstance(criteria.get(key), dict):
            grades[key] = criteria[key].get("grade")
    if isinstance(criteria.get("ebp"), dict):
        grades["ebp_eligible"] = criteria["ebp"].get("eligible")
    performed = criteria.get("exams_performed")  # the exams the study holds (unknown in an older result: all)
    for exam, value in (criteria.get("per_exam") or {}).items():
        if isinstance(performed, list) and exam not in performed:
            continue  # an exam the study does not hold has no result: no line for it on the RIS or in the archive
        if isinstance(value, dict) and value.get("grade"):
            grades[exam] = value["grade"]
    return grades


def _walk(items: Any) -> Iterator[Dataset]:
    for item in items or []:
        yield item
        yield from _walk(item.get("ContentSequence"))


def sr_codes(ds: Dataset) -> list[str]:
    """Every coded concept in the SR content tree (the document title too) as ``scheme:value``, sorted."""
    codes: set[str] = set()
    for item in _walk([ds]):
        for keyword in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            for code in item.get(keyword) or []:
                scheme, value = code.get("CodingSchemeDesignator"), code.get("CodeValue")
                if scheme and value:
                    codes.add(f"{scheme}:{value}")
    return sorted(codes)


def _codes_of(path: str) -> list[str]:
    try:
        return sr_codes(dcmread(path, stop_before_pixels=True))
    except (OSError, InvalidDicomError) as exc:
        log.warning("archive: SR file unreadable (%s); indexed without codes", type(exc).__name__)
        return []


def index_new_results(session: Session) -> int:
    """Make an archive entry for every SR result that has none. Returns how many were added."""
    done = select(ArchiveEntry.result_id)
    added = 0
    for result in session.scalars(select(Result).where(Result.kind == ResultKind.SR, Result.id.not_in(done))):
        study = session.get(Study, result.study_id)
        assert study is not None
        summary = result.summary or {}
        session.add(
            ArchiveEntry(
                result_id=result.id,
                study_id=study.id,
                sop_instance_uid=result.sop_instance_uid,
                study_uid=study.study_uid,
                patient_key=study.patient_key,
                study_date=study.study_date,
                issued_at=result.created_at,
                revision=result.revision,
                predecessor_uid=result.predecessor_uid,
                grades=grades_of(summary.get("criteria")),
                flags=[str(f) for f in summary.get("flags") or []],
                codes=_codes_of(result.path),
            )
        )
        added += 1
    if added:
        session.flush()
        log.info("archive: %d SR(s) indexed", added)
    return added


def _day(name: str, value: str | None, *, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end else time.min)
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise ArchiveQueryError(f"{name}: not an ISO date (YYYY-MM-DD) or datetime: {value!r}") from None


@dataclass(frozen=True)
class ArchiveQuery:
    """Archive filters. ``grade`` is ``key:GRADE`` (``csf_leak:DEFINITE``); ``since``/``until`` bound the
    issued date (inclusive days); ``flag`` matches a flag by substring (case-insensitive); ``current``
    keeps only SRs not amended by a later one."""

    grade: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    flag: str | None = None
    patient_key: str | None = None
    code: str | None = None
    current: bool = False
    limit: int = 500

    @classmethod
    def parse(
        cls,
        *,
        grade: str | None = None,
        since: str | None = None,
        until: str | None = None,
        flag: str | None = None,
        patient_key: str | None = None,
        code: str | None = None,
        current: bool = False,
        limit: int = 500,
    ) -> ArchiveQuery:
        grade, flag, patient_key, code = (v.strip() or None if v else None for v in (grade, flag, patient_key, code))
        if grade is not None:
            if not _GRADE_RE.match(grade) or grade.split(":")[0] not in GRADE_KEYS:
                raise ArchiveQueryError(f"grade: expected KEY:GRADE with KEY one of {', '.join(GRADE_KEYS)}: {grade!r}")
        if patient_key is not None and not _KEY_RE.match(patient_key):
            raise ArchiveQueryError(f"patient_key: not a pseudonymous key: {patient_key!r}")
        if not 1 <= limit <= 5000:
            raise ArchiveQueryError(f"limit: must be 1-5000, got {limit!r}")
        start, end = _day("since", since, end=False), _day("until", until, end=True)
        if start and end and start > end:
            raise ArchiveQueryError(f"since: {since!r} is after until {until!r}")
        return cls(grade, start, end, flag, patient_key, code, current, limit)

    def matches(self, entry: ArchiveEntry) -> bool:
        if self.grade is not None:
            key, _, wanted = self.grade.partition(":")
            if str((entry.grades or {}).get(key)).upper() != wanted.upper():
                return False
        if self.flag is not None and not any(self.flag.lower() in str(f).lower() for f in entry.flags or []):
            return False
        return self.code is None or self.code in (entry.codes or [])


def entry_json(entry: ArchiveEntry, amended_by: str | None) -> dict[str, Any]:
    return {
        "sop_instance_uid": entry.sop_instance_uid,
        "study_uid": entry.study_uid,
        "patient_key": entry.patient_key,
        "study_date": entry.study_date,
        "issued_at": iso_time(entry.issued_at),
        "revision": entry.revision,
        "grades": dict(entry.grades or {}),
        "flags": list(entry.flags or []),
        "codes": list(entry.codes or []),
        "amends": entry.predecessor_uid,
        "amended_by": amended_by,
        "download": f"/api/archive/{entry.sop_instance_uid}/sr.dcm",
    }


def search(session: Session, query: ArchiveQuery) -> list[dict[str, Any]]:
    """Archive entries matching ``query``, newest first (indexes new SRs first)."""
    index_new_results(session)
    stmt = select(ArchiveEntry).order_by(ArchiveEntry.issued_at.desc(), ArchiveEntry.id.desc())
    if query.since is not None:
        stmt = stmt.where(ArchiveEntry.issued_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(ArchiveEntry.issued_at <= query.until)
    if query.patient_key is not None:
        stmt = stmt.where(ArchiveEntry.patient_key == query.patient_key)
    amended_by = {
        pred: uid
        for pred, uid in session.execute(
            select(ArchiveEntry.predecessor_uid, ArchiveEntry.sop_instance_uid).where(
                ArchiveEntry.predecessor_uid.is_not(None)
            )
        )
    }
    rows = []
    for entry in session.scalars(stmt):
        if not query.matches(entry) or (query.current and entry.sop_instance_uid in amended_by):
            continue
        rows.append(entry_json(entry, amended_by.get(entry.sop_instance_uid)))
        if len(rows) >= query.limit:
            break
    return rows


def sr_path(session: Session, sop_instance_uid: str) -> Path | None:
    """The file of an issued SR, or None when the node issued no SR with that UID."""
    path = session.scalar(
        select(Result.path).where(Result.sop_instance_uid == sop_instance_uid, Result.kind == ResultKind.SR)
    )
    return Path(path) if path else None
