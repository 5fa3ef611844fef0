"""Fixtures: kombu's filesystem broker (no server, no network) and a phantom study on disk."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workers.celery_app import app, configure  # noqa: E402
from workers.phantom import write_phantom  # noqa: E402


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Path]:
    """Celery on kombu's filesystem transport in ``tmp_path``: sent tasks become files in the queue folder."""
    saved = dict(app.conf)
    configure("", tmp_path / "var")
    try:
        yield tmp_path / "var" / "broker" / "queue"
    finally:
        app.conf.update(saved)


@pytest.fixture(scope="session")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Path]]:
    study = write_phantom(tmp_path_factory.mktemp("phantom"), "simple", deterministic_uids=True)
    return study.study_instance_uid, sorted(study.files)
