"""The worklist web app: server-rendered pages and their forms (POST, CSRF-checked, then redirect)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from node.archive import ArchiveQuery, ArchiveQueryError, search
from node.delivery.rows import retry_now
from node.findings import workflow as fs
from node.findings.review import latest_report, review
from node.registry.models import Delivery, Study
from node.web.api import card_response
from node.web.archive_rows import readable_rows
from node.web.auth import COOKIE, SESSION_SECONDS, User, clean_name
from node.web.deps import auth_of, check_form_csrf, db, page_user, study_or_404
from node.web.entry_words import entry_rows
from node.web.form_errors import error_words
from node.web.forms import FORM_FIELDS, document_from_form, form_choices
from node.web.worklist import study_page, worklist
from workers.criteria import FindingsError

router = APIRouter()
MESSAGES = {
    "saved": "Findings saved; the criteria are running again and an amended report will be sent.",
    "withdrawn": "Finding withdrawn; an amended report will be sent.",
    "confirmed": "Candidate confirmed as your finding; an amended report will be sent.",
    "rejected": "Candidate rejected; it will not be counted. An amended report will be sent.",
    "retry": "Delivery queued again.",
    "finding-confirmed": "Finding confirmed; an amended report will be sent.",
    "finding-rejected": "Finding rejected; the amended report will list it as rejected, not as a finding.",
}


def templates(request: Request) -> Jinja2Templates:
    tpl: Jinja2Templates = request.app.state.templates
    return tpl


def render_page(request: Request, name: str, context: dict[str, Any], user: User | None, status: int = 200) -> Response:
    """The page ``name`` rendered with ``context`` for ``user`` (and its form token), never cached."""
    base = {"user": user, "csrf": auth_of(request).csrf_token(user) if user else ""}
    response = templates(request).TemplateResponse(request, name, {**base, **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render_page(request, "login.html", {"next": _safe_next(next), "error": None}, None)


@router.post("/login")
def login(
    request: Request,
    token: str = Form(""),
    name: str = Form(""),
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    auth = auth_of(request)
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "-"
    wait = limiter.retry_after(client)
    if wait:
        context = {"next": _safe_next(next), "error": f"Too many failed sign-ins; try again in {int(wait) + 1} s."}
        return render_page(request, "login.html", context, None, status=429)
    username = username.strip().lower()
    account = auth.password_ok(username, password) if username else None
    if account is not None:
        cookie = auth.make_session(account.full_name or account.username, role=account.role, account_id=account.id)
        actor = account.username
    elif not username and auth.token_ok(token.strip()):
        cookie = auth.make_session(clean_name(name))
        actor = f"{clean_name(name) or 'web'} (token)"
    else:
        limiter.failed(client)
        _audit_sign_in(request, username or "token", "failure")
        error = "That user name and password do not match." if username else "That token is not right."
        return render_page(request, "login.html", {"next": _safe_next(next), "error": error}, None, status=401)
    limiter.succeeded(client)
    _audit_sign_in(request, actor, "success")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _audit_sign_in(request: Request, actor: str, outcome: str, action: str = "sign_in") -> None:
    peer = request.client.host if request.client else None
    request.app.state.audit.put(action, actor=actor, outcome=outcome, peer=peer)


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), user: User = Depends(page_user)) -> Response:
    check_form_csrf(request, user, csrf)
    auth_of(request).end_session(user)
    _audit_sign_in(request, user.username or f"{user.name} (token)", "success", "sign_out")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def worklist_page(request: Request, session: Session = Depends(db), user: User = Depends(page_user)) -> Response:
    return render_page(request, "worklist.html", {"rows": worklist(session, with_phi=True)}, user)


def _study_response(
    request: Request,
    session: Session,
    study: Study,
    user: User,
    *,
    message: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    page = study_page(session, study)
    coded = {f.candidate_key for f in latest_report(session, study).findings if f.candidate_key}
    context = {
        "s": page,
        "entries": entry_rows(fs.list_entries(session, study)),
        "candidates": [c for c in fs.candidates(session, study) if c["key"] not in coded],
        "choices": form_choices(),
        "form": form or {},
        "message": message,
        "error": error,
    }
    return render_page(request, "study.html", context, user, status=status)


@router.get("/studies/{study_uid}", response_class=HTMLResponse)
def study_view(
    study_uid: str,
    request: Request,
    msg: str | None = None,
    session: Session = Depends(db),
    user: User = Depends(page_user),
) -> Response:
    return _study_response(request, session, study_or_404(session, study_uid), user, message=MESSAGES.get(msg or ""))


@router.get("/studies/{study_uid}/card.png")
def study_card(study_uid: str, session: Session = Depends(db), _user: User = Depends(page_user)) -> Response:
    return card_response(session, study_uid)


def _back(study_uid: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/studies/{quote(study_uid)}?msg={msg}#top", status_code=303)


@router.post("/studies/{study_uid}/findings")
async def post_findings_form(
    study_uid: str, request: Request, session: Session = Depends(db), user: User = Depends(page_user)
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_form_csrf(request, user, form.get("csrf"))
    study = study_or_404(session, study_uid)
    kept = {k: form.get(k, "") for k in FORM_FIELDS}
    try:
        fs.add_findings(session, study, document_from_form(form), user.name)
    except FindingsError as exc:  # in words; the JSON API answers with the machine message
        return _study_response(request, session, study, user, error=error_words(exc), form=kept, status=422)
    except fs.Conflict as exc:
        return _study_response(request, session, study, user, error=str(exc), form=kept, status=409)
    return _back(study_uid, "saved")


@router.post("/studies/{study_uid}/findings/{entry_id}/withdraw")
def withdraw_form(
    study_uid: str,
    entry_id: int,
    request: Request,
    csrf: str = Form(""),
    session: Session = Depends(db),
    user: User = Depends(page_user),
) -> Response:
    check_form_csrf(request, user, csrf)
    study = study_or_404(session, study_uid)
    try:
        fs.withdraw(session, study, entry_id)
    except (fs.NotFound, fs.Conflict) as exc:
        return _study_response(request, session, study, user, error=str(exc), status=409)
    return _back(study_uid, "withdrawn")


def _settle_form(
    request: Request,
    session: Session,
    user: User,
    study_uid: str,
    action: str,
    settle: Callable[[Study], object],
    done: str,
) -> Response:
    """Confirm or reject something on a study page (a candidate or a coded finding): one page adapter."""
    if action not in fs.CANDIDATE_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}")
    study = study_or_404(session, study_uid)
    try:
        settle(study)
    except (fs.NotFound, fs.Conflict) as exc:
        return _study_response(request, session, study, user, error=str(exc), status=409)
    return _back(study_uid, f"{done}confirmed" if action == "confirm" else f"{done}rejected")


@router.post("/studies/{study_uid}/candidates/{index}/{action}")
def candidate_form(
    study_uid: str,
    index: int,
    action: str,
    request: Request,
    csrf: str = Form(""),
    session: Session = Depends(db),
    user: User = Depends(page_user),
) -> Response:
    check_form_csrf(request, user, csrf)
    return _settle_form(
        request,
        session,
        user,
        study_uid,
        action,
        lambda study: fs.settle_candidate(session, study, index, action, user.name),
        "",
    )


@router.post("/studies/{study_uid}/coded/{key}/{action}")
def coded_finding_form(
    study_uid: str,
    key: str,
    action: str,
    request: Request,
    csrf: str = Form(""),
    session: Session = Depends(db),
    user: User = Depends(page_user),
) -> Response:
    check_form_csrf(request, user, csrf)
    return _settle_form(
        request,
        session,
        user,
        study_uid,
        action,
        lambda study: review(session, study, key, action, user.name),
        "finding-",
    )


@router.post("/studies/{study_uid}/deliveries/{delivery_id}/retry")
def retry_form(
    study_uid: str,
    delivery_id: int,
    request: Request,
    csrf: str = Form(""),
    session: Session = Depends(db),
    user: User = Depends(page_user),
) -> Response:
    check_form_csrf(request, user, csrf)
    study = study_or_404(session, study_uid)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.study_id != study.id:
        raise HTTPException(404, f"no delivery {delivery_id} for this study")
    if not retry_now(session, delivery_id):
        return _study_response(
            request, session, study, user, error=f"delivery {delivery_id} is delivered or being sent", status=409
        )
    return _back(study_uid, "retry")


@router.get("/archive", response_class=HTMLResponse)
def archive_page(request: Request, session: Session = Depends(db), user: User = Depends(page_user)) -> Response:
    params = {k: request.query_params.get(k, "") for k in ("grade", "since", "until", "flag", "patient_key", "code")}
    current = request.query_params.get("current") == "on"
    rows: list[dict[str, Any]] = []
    error = None
    try:
        rows = search(session, ArchiveQuery.parse(**params, current=current))  # type: ignore[arg-type]
    except ArchiveQueryError as exc:
        error = str(exc)
    context = {"rows": readable_rows(session, rows), "params": params, "current": current, "error": error}
    return render_page(request, "archive.html", context, user, status=422 if error else 200)
