"""The JSON API (authenticated): studies, findings, candidate findings, deliveries, the SR archive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from node.archive import ArchiveQuery, ArchiveQueryError, search
from node.archive.index import sr_path
from node.delivery.rows import retry_now
from node.findings import workflow as fs
from node.findings.review import latest_report, review
from node.registry.models import Delivery, DeliveryState
from node.registry.views import list_studies, results_of, study_row
from node.web.auth import User
from node.web.deps import api_user, api_writer, db, study_or_404
from node.web.images import sc_png
from node.web.worklist import card_path
from workers.criteria import FindingsError

router = APIRouter(prefix="/api")


@contextmanager
def _answers() -> Iterator[None]:
    """The findings workflow's errors as HTTP answers: 404 not found, 409 conflict, 422 invalid document."""
    try:
        yield
    except fs.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except fs.Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    except FindingsError as exc:
        raise HTTPException(422, str(exc)) from None


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(422, f"document: not valid JSON ({exc})") from None


@router.get("/studies")
def studies(session: Session = Depends(db), _user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return list_studies(session, with_phi=True)


@router.get("/studies/{study_uid}")
def study(study_uid: str, session: Session = Depends(db), _user: User = Depends(api_user)) -> dict[str, Any]:
    row = study_or_404(session, study_uid)
    data = study_row(session, row, with_phi=True)
    data["results"] = results_of(session, row)
    data["coded_findings"] = latest_report(session, row).as_json()
    return data


@router.get("/studies/{study_uid}/coded-findings")
def get_coded_findings(study_uid: str, session: Session = Depends(db), _user: User = Depends(api_user)) -> Any:
    """The latest report's coded findings, not-assessable outputs and protocol notes."""
    return latest_report(session, study_or_404(session, study_uid)).as_json()


@router.post("/studies/{study_uid}/coded-findings/{key}/{action}")
def review_coded_finding(
    study_uid: str, key: str, action: str, session: Session = Depends(db), user: User = Depends(api_writer)
) -> dict[str, Any]:
    if action not in fs.CANDIDATE_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}: confirm or reject")
    with _answers():
        return review(session, study_or_404(session, study_uid), key, action, user.name)


@router.get("/studies/{study_uid}/findings")
def get_findings(study_uid: str, session: Session = Depends(db), _user: User = Depends(api_user)) -> list[Any]:
    return fs.list_entries(session, study_or_404(session, study_uid))


@router.post("/studies/{study_uid}/findings", status_code=201)
async def post_findings(study_uid: str, request: Request, user: User = Depends(api_writer)) -> dict[str, Any]:
    document = await _json_body(request)
    with request.app.state.runtime.registry.session() as session, _answers():
        return fs.add_findings(session, study_or_404(session, study_uid), document, user.name)


@router.delete("/studies/{study_uid}/findings/{entry_id}")
def delete_finding(
    study_uid: str, entry_id: int, session: Session = Depends(db), _user: User = Depends(api_writer)
) -> dict[str, Any]:
    with _answers():
        return fs.withdraw(session, study_or_404(session, study_uid), entry_id)


@router.get("/studies/{study_uid}/candidates")
def get_candidates(study_uid: str, session: Session = Depends(db), _user: User = Depends(api_user)) -> list[Any]:
    return fs.candidates(session, study_or_404(session, study_uid))


@router.post("/studies/{study_uid}/candidates/{index}/{action}")
def settle_candidate(
    study_uid: str, index: int, action: str, session: Session = Depends(db), user: User = Depends(api_writer)
) -> dict[str, Any]:
    if action not in fs.CANDIDATE_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}: confirm or reject")
    with _answers():
        return fs.settle_candidate(session, study_or_404(session, study_uid), index, action, user.name)


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(delivery_id: int, session: Session = Depends(db), _user: User = Depends(api_writer)) -> Any:
    if session.get(Delivery, delivery_id) is None:
        raise HTTPException(404, f"no delivery {delivery_id}")
    if not retry_now(session, delivery_id):
        raise HTTPException(409, f"delivery {delivery_id} is delivered or being sent: nothing to retry")
    return {"id": delivery_id, "state": DeliveryState.PENDING.value}


@router.get("/studies/{study_uid}/card.png")
def card_png(study_uid: str, session: Session = Depends(db), _user: User = Depends(api_user)) -> Response:
    return card_response(session, study_uid)


def card_response(session: Session, study_uid: str) -> Response:
    """The study's summary card as PNG (404 when there is none yet, 500 when its file cannot be read)."""
    path = card_path(session, study_or_404(session, study_uid))
    if path is None:
        raise HTTPException(404, "no summary card for this study yet")
    try:
        return Response(sc_png(path), media_type="image/png", headers={"Cache-Control": "private, no-store"})
    except (OSError, ValueError) as exc:
        raise HTTPException(500, f"summary card unreadable: {type(exc).__name__}") from None


def archive_query(
    grade: str | None = None,
    since: str | None = None,
    until: str | None = None,
    flag: str | None = None,
    patient_key: str | None = None,
    code: str | None = None,
    current: bool = False,
    limit: int = 500,
) -> ArchiveQuery:
    try:
        return ArchiveQuery.parse(
            grade=grade,
            since=since,
            until=until,
            flag=flag,
            patient_key=patient_key,
            code=code,
            current=current,
            limit=limit,
        )
    except ArchiveQueryError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/archive")
def archive(
    query: ArchiveQuery = Depends(archive_query), session: Session = Depends(db), _user: User = Depends(api_user)
) -> list[dict[str, Any]]:
    return search(session, query)


@router.get("/archive/{sop_instance_uid}/sr.dcm")
def archive_sr(
    sop_instance_uid: str = PathParam(pattern=r"^[0-9.]{1,64}$"),
    session: Session = Depends(db),
    _user: User = Depends(api_user),
) -> FileResponse:
    path = sr_path(session, sop_instance_uid)
    if path is None or not path.exists():
        raise HTTPException(404, f"no SR {sop_instance_uid} in the archive")
    return FileResponse(path, media_type="application/dicom", filename=f"{sop_instance_uid}.dcm")
