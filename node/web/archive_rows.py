"""Archive rows for people: the study's description and accession next to each SR, grades in words."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.registry.models import Study
from node.web.worklist import badge_class, grade_words, study_date_words
from workers.criteria.words import result_title


def readable_rows(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each archive row with ``description``, ``accession``, ``date`` and ``grade_items`` (words, abnormal only),
    and the revisions it amends or is amended by."""
    uids = {r["study_uid"] for r in rows}
    studies = {s.study_uid: s for s in session.scalars(select(Study).where(Study.study_uid.in_(uids)))}
    revision_of = {r["sop_instance_uid"]: r["revision"] for r in rows}
    out = []
    for row in rows:
        study = studies.get(row["study_uid"])
        grades = []
        for key, value in (row.get("grades") or {}).items():
            if value in (None, "NONE", False, "NOT_APPLICABLE"):
                continue
            code = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            grades.append({"label": result_title(key), "grade": grade_words(value), "class": badge_class(code)})
        out.append(
            {
                **row,
                "description": (study.study_description if study else None) or "(no description)",
                "accession": (study.accession_number if study else None) or "—",
                "date": study_date_words(row.get("study_date")),
                "grade_items": grades,
                "amends_revision": revision_of.get(row.get("amends") or ""),
                "amended_by_revision": revision_of.get(row.get("amended_by") or ""),
            }
        )
    return out
