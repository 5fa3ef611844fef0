from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from peers import Orthanc  # noqa: E402


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    pacs = Orthanc(tmp_path / "orthanc").start()
    try:
        yield pacs
    finally:
        pacs.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test shows the end of every node log it wrote (serve.log under its tmp_path), so a CI
    failure that does not repeat on a rerun can still be read."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if not report.failed or not isinstance(tmp, Path):
        return
    for log in sorted(tmp.rglob("serve.log")):
        lines = log.read_text(errors="replace").splitlines()[-60:]
        report.sections.append((f"node log {log.relative_to(tmp)} (last {len(lines)} lines)", "\n".join(lines)))
