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

from node.metrics import NodeMetrics
from node.metrics_feed import MetricsFeed
from node.runtime import Runtime
from node.web import api, ops, pages
from node.web.auth import Auth, ensure_web_token
from node.web.deps import LoginRequired
from node.web.ops import RegistryInstances
from node.web.studies import badge_class, grade_words, study_date_words

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="spinenode", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None)
    token, token_file = ensure_web_token(runtime.settings)
    if token_file is not None:
        log.warning("web: sign-in token is in %s (mode 600)", token_file)
    app.state.runtime = runtime
    app.state.auth = Auth(token)
    app.state.token_file = token_file
    metrics = runtime.extras.get("metrics")
    if not isinstance(metrics, NodeMetrics):
        metrics = runtime.extras["metrics"] = NodeMetrics()
    if not runtime.extras.get("metrics_registry_collector"):
        metrics.registry.register(RegistryInstances(runtime.registry))
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
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.include_router(ops.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
