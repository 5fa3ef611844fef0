"""The node's web app: health, the studies API (and, mounted from sibling modules, more)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import select, text

from node.registry.models import Study
from node.runtime import Runtime
from node.studies import list_studies, results_of, study_row


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="spinenode", version="0.1.0")
    app.state.runtime = runtime

    @app.get("/health")
    def health() -> dict[str, Any]:
        with runtime.registry.session() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/api/studies")
    def studies() -> list[dict[str, Any]]:
        with runtime.registry.session() as session:
            return list_studies(session)

    @app.get("/api/studies/{study_uid}")
    def study(study_uid: str) -> dict[str, Any]:
        with runtime.registry.session() as session:
            row = session.scalar(select(Study).where(Study.study_uid == study_uid))
            if row is None:
                raise HTTPException(404, f"no study {study_uid}")
            data = study_row(session, row)
            data["results"] = results_of(session, row)
            return data

    return app
