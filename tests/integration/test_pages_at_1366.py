"""The worklist, a study page and the archive in a real headless Chromium at 1366 px: nothing scrolls
sideways, the findings column is on screen, and the findings come before the grades."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "node" / "web"))

from web_support import TOKEN, seed  # noqa: E402

from node.registry.db import Registry  # noqa: E402
from node.runtime import Runtime  # noqa: E402
from node.settings import Settings  # noqa: E402
from node.web.app import create_app  # noqa: E402

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1366
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object]]:
    settings = Settings.model_validate({"node": {"data_dir": str(tmp_path / "var")}, "web": {"token": TOKEN}})
    settings.data_dir.mkdir(parents=True)
    runtime = Runtime(settings, Registry(settings.database_url))
    seeded = seed(runtime)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", seeded
    finally:
        server.should_exit = True
        thread.join(10)
        runtime.registry.dispose()


def test_worklist_study_and_archive_fit_1366_px(served: tuple[str, object], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    base, seeded = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(base + "/login")
            page.fill("input[name=token]", TOKEN)
            page.fill("input[name=name]", "Dr Width")
            page.click("button[type=submit]")
            page.wait_for_selector("table.worklist")
            page.screenshot(path=str(tmp_path / "worklist-1366.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            cells = page.locator("table.worklist td.findings")
            assert cells.count() == 3
            for i in range(cells.count()):
                box = cells.nth(i).bounding_box()
                assert box is not None and box["x"] + box["width"] <= WIDTH, "findings column on screen"
            finding = page.locator("td.findings .finding-severe").first
            assert "Cord compression 46 % at C5" in finding.inner_text()

            page.goto(f"{base}/studies/{seeded.reported_uid}")  # type: ignore[attr-defined]
            page.wait_for_selector("#findings")
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            findings_y = page.locator("#findings").bounding_box()["y"]  # type: ignore[index]
            grades_y = page.locator("h2:has-text('Grades')").bounding_box()["y"]  # type: ignore[index]
            assert findings_y < grades_y
            page.screenshot(path=str(tmp_path / "study-1366.png"), full_page=True)

            page.goto(base + "/archive")
            page.wait_for_selector("table.worklist")
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert "MR C-T spine" in page.locator("table.worklist tbody").inner_text()
            page.screenshot(path=str(tmp_path / "archive-1366.png"), full_page=True)
        finally:
            browser.close()
