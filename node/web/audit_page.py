"""``/audit``: the latest audit events, and ``/audit.syslog`` for the whole trail as RFC 5424 lines.

Shown to the admin (bootstrap token) and operators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session

from node.audit.trail import as_dict, events, syslog_line
from node.web.auth import User
from node.web.deps import db, page_user
from node.web.pages import render_page

router = APIRouter()
PAGE_ROWS = 500


def _allowed(user: User) -> None:
    if user.role not in ("admin", "operator"):
        raise HTTPException(403, f"Your role ({user.role}) may not see the audit trail.")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: Session = Depends(db), user: User = Depends(page_user)) -> Response:
    _allowed(user)
    rows = [as_dict(e) for e in reversed(events(session, limit=PAGE_ROWS))]
    return render_page(request, "audit.html", {"rows": rows}, user)


@router.get("/audit.syslog")
def audit_syslog(session: Session = Depends(db), user: User = Depends(page_user)) -> Response:
    _allowed(user)
    text = "".join(syslog_line(e) + "\n" for e in events(session))
    return PlainTextResponse(text, headers={"Content-Disposition": 'attachment; filename="audit.log"'})
