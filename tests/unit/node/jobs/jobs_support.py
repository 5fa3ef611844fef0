"""A Runtime on a temporary SQLite registry, and a study received into it and made stable (a queued job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.dicom.headers import parse_header
from node.dicom.received import Received
from node.ingest.recorder import PatientKeyer, record_instances
from node.registry.db import Registry
from node.runtime import Runtime
from node.settings import Settings
from node.stability import mark_stable


def make_runtime(tmp_path: Path, **sections: Any) -> Runtime:
    settings = Settings.model_validate({"node": {"data_dir": str(tmp_path / "var")}, **sections})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Runtime(settings, Registry(settings.database_url))


def receive(rt: Runtime, files: list[Path]) -> int:
    """Record the files as received and make their study stable: returns the queued job's ID."""
    keyer = PatientKeyer(rt.settings.data_dir)
    items = [
        Received(parse_header(f), f, f.stat().st_size, calling_aet="MODALITY", called_aet="SPINENODE") for f in files
    ]
    with rt.registry.session() as session:
        record_instances(session, items, keyer)
    with rt.registry.session() as session:
        (job_id,) = mark_stable(session, -1.0, set())
    return job_id
