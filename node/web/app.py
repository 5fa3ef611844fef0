"""The node's web app: the worklist pages, the JSON API, the SR archive, ``/health`` and ``/metrics``.

Everything needs a signed-in person (session cookie) or ``Authorization: Bearer <token>`` except
``/health``, ``/metrics``, ``/login`` and the stylesheet. Request bodies are never logged (they may hold
patient data); uvicorn's access log is off.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from node.accounts.ratelimit import LoginLimiter
from node.audit.trail import AuditWriter
from node.broker.workers import WorkersCollector
from node.metrics import NodeMetrics
from node.metrics.feed import MetricsFeed
from node.runtime import Runtime
from node.web import access, api, audit_page, ops, pages
from node.web.auth import Auth, ensure_web_token
from node.web.deps import LoginRequired
from node.web.ops import RegistryInstances
from node.web.worklist import badge_class, grade_words, study_date_words
from workers import __version__
from workers.results.card_words import person_words

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="spinenode", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    token, token_file = ensure_web_token(runtime.settings)
    if token_file is not None:
        log.warning("web: sign-in token is in %s (mode 600)", token_file)
    app.state.runtime = runtime
    app.state.auth = Auth(token, runtime.registry)
    app.state.login_limiter = LoginLimiter()
    app.state.audit = AuditWriter(runtime.registry)
    app.state.audit.start()
    app.state.token_file = token_file
    metrics = runtime.extras.get("metrics")
    if not isinstance(metrics, NodeMetrics):
        metrics = runtime.extras["metrics"] = NodeMetrics()
    if not runtime.extras.get("metrics_registry_collector"):
        metrics.registry.register(RegistryInstances(runtime.registry))
        metrics.registry.register(WorkersCollector(runtime.registry))
        runtime.extras["metrics_registry_collector"] = True
    app.state.metrics = metrics
    feed = runtime.extras.get("metrics_feed")
    if not isinstance(feed, MetricsFeed):
        kinds = {r.name: r.kind for r in runtime.settings.ris}
        feed = runtime.extras["metrics_feed"] = MetricsFeed(metrics, runtime.registry, kinds)
    app.state.metrics_feed = feed
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.filters["badge"] = badge_class
    app.state.templates.env.filters["study_date"] = study_date_words
    app.state.templates.env.filters["words"] = grade_words
    app.state.templates.env.filters["person"] = person_words
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        refused = access.refusal(request)
        response: Response = refused if refused is not None else await call_next(request)
        if refused is None:
            access.audit(request, response.status_code)
        access.security_headers(request, response)
        return response

    app.include_router(ops.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(audit_page.router)
    return app
