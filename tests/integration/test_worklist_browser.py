"""A person on the worklist in a real headless Chromium: DCMTK storescu -> spinenode serve -> Orthanc, then
sign in, open the study, enter a radiologist finding and see the amended SR delivered to the PACS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import NodeProcess, Orthanc, storescu, wait_until
from pydicom import dcmread

from workers.phantom import write_phantom

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-token-5f1c"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _srs(pacs: Orthanc, study_uid: str) -> list[dict]:
    return [t for t in pacs.instances_by_modality().get("SR", []) if t.get("StudyInstanceUID") == study_uid]


def test_radiologist_enters_a_finding_and_the_amended_sr_is_delivered(
    tmp_path: Path, orthanc: Orthanc, browser: object
) -> None:
    study = write_phantom(tmp_path / "study", "epidural_fluid")
    node = NodeProcess(
        tmp_path / "node",
        destinations=[
            {
                "name": "pacs",
                "ae_title": "ORTHANC",
                "host": "127.0.0.1",
                "port": orthanc.dicom_port,
                "first_retry_seconds": 1.0,
            }
        ],
    )
    node.extra["web"] = {"port": node.web_port, "token": TOKEN}
    node.start()
    try:
        assert storescu(list(study.files), node.port).returncode == 0
        wait_until(lambda: len(_srs(orthanc, study.study_instance_uid)) == 1, 120, "first SR in Orthanc")
        wait_until(lambda: node.studies()[0]["state"] == "delivered", 60, "first report delivered")

        base = f"http://127.0.0.1:{node.web_port}"
        page = browser.new_page(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
        page.goto(base + "/")
        assert page.url.startswith(base + "/login")
        page.fill("input[name=token]", TOKEN)
        page.fill("input[name=name]", "Dr Test")
        page.click("button[type=submit]")
        page.wait_for_selector("table.worklist")
        assert page.locator("a.study-link").count() == 1
        assert "PHANTOM" in page.content()  # the patient's name, for a signed-in person
        page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, "the worklist fits 1366 px"

        page.click("a.study-link")
        page.wait_for_selector("h2:has-text('Enter a finding')")
        assert page.locator("tr.delivery[data-revision='1'][data-state='delivered']").count() == 1
        page.select_option("#kind", "spinal_mri/epidural_fluid")
        page.select_option("#level_upper", "C7")
        page.select_option("#level_lower", "T2")
        page.select_option("#enhancement", "absent")
        page.select_option("#continuous_with_subarachnoid", "yes")
        page.click("#save-finding")
        page.wait_for_selector("text=Findings saved")

        def amended_delivered() -> bool:
            page.reload()
            return page.locator("tr.delivery[data-revision='2'][data-state='delivered']").count() == 1

        wait_until(amended_delivered, 120, "revision 2 delivered on the study page", interval=1.0)
        text = page.content()
        # Before the finding the grade was NONE; the radiologist's C7-T2 fluid now gives a CSF-leak grade. (The
        # engine weighs the study's own protocol too: without post-contrast or thin axial SSFP it is not DEFINITE.)
        assert re.search(r"CSF leak (suspected|strongly suspected|definite)", text), "CSF-leak finding"
        # the spinal MRI rule that graded the finding, in words, with its ID only as the tooltip
        rule = page.locator("table.grades span[title^='rule CSF-LEAK-MR-']").first
        assert rule.get_attribute("title") in ("rule CSF-LEAK-MR-3", "rule CSF-LEAK-MR-4")
        assert rule.inner_text().startswith("epidural fluid-signal lesion")
        assert not re.search(r"CSF-LEAK-MR-\d", page.inner_text("table.grades"))
        assert "amended by revision 2" in text
        page.screenshot(path=str(tmp_path / "study.png"), full_page=True)
        page.goto(base + "/")
        page.screenshot(path=str(tmp_path / "worklist-after.png"), full_page=True)

        srs = _srs(orthanc, study.study_instance_uid)
        assert len(srs) == 2
        # the Segmentation went with the SR and the card, into the same study, and was amended with them
        segs = [
            t
            for t in orthanc.instances_by_modality().get("SEG", [])
            if t.get("StudyInstanceUID") == study.study_instance_uid
        ]
        assert len(segs) == 2 and len({t["SeriesInstanceUID"] for t in segs}) == 1
        datasets = []
        for tags in srs:
            path = tmp_path / f"{tags['SOPInstanceUID']}.dcm"
            path.write_bytes(orthanc.download(tags["_id"]))
            datasets.append(dcmread(path))
        amended = [d for d in datasets if "PredecessorDocumentsSequence" in d]
        original = [d for d in datasets if "PredecessorDocumentsSequence" not in d]
        assert len(amended) == 1 and len(original) == 1
        ref = amended[0].PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
        assert ref.ReferencedSOPInstanceUID == original[0].SOPInstanceUID
    finally:
        node.stop()
    assert "PHANTOM" not in node.log_text(), "patient names must not be logged"
