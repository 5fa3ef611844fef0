"""Fixtures: a Runtime on a temporary SQLite registry, a seeded registry, a TestClient on the web app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from web_support import TOKEN, Seeded, seed  # noqa: E402

from node.registry.db import Registry  # noqa: E402
from node.runtime import Runtime  # noqa: E402
from node.settings import Settings  # noqa: E402
from node.web.app import create_app  # noqa: E402


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings.model_validate({"node": {"data_dir": str(tmp_path / "var")}, "web": {"token": TOKEN}})
    settings.data_dir.mkdir(parents=True)
    rt = Runtime(settings, Registry(settings.database_url))
    try:
        yield rt
    finally:
        rt.registry.dispose()


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return seed(runtime)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), follow_redirects=False) as c:
        yield c
