"""Robustness on real multi-vendor DICOM (shared/data/dicom: GE, Philips classic and enhanced, Siemens
classic, mosaic and multi-frame, Hitachi, nine transfer syntaxes, series with unsafe geometry): every study
the node accepts gets its report to the PACS, and every SR and card it wrote passes dciodvfy."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import NodeProcess, Orthanc, wait_until
from pydicom import dcmread

from node.dicom.scu import send_files
from workers.results.validate import dciodvfy_errors

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "dicom"


def _dicom_files() -> dict[str, list[Path]]:
    studies: dict[str, list[Path]] = {}
    for p in sorted(DATA.rglob("*")):
        if not p.is_file():
            continue
        try:
            ds = dcmread(p, stop_before_pixels=True, specific_tags=["StudyInstanceUID"])
        except Exception:
            continue
        if "StudyInstanceUID" in ds and ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.2":
            studies.setdefault(str(ds.StudyInstanceUID), []).append(p)
    return studies


def test_every_real_study_gets_a_valid_report(tmp_path: Path, orthanc: Orthanc) -> None:
    studies = _dicom_files()
    assert len(studies) >= 15
    node = NodeProcess(
        tmp_path / "node",
        destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": orthanc.dicom_port}],
    ).start()
    try:
        files = [f for group in studies.values() for f in group]
        outcomes = send_files(files, "SPINENODE", "127.0.0.1", node.port)
        assert all(o.ok for o in outcomes), [(o.path.name, o.status) for o in outcomes if not o.ok]

        def settled() -> bool:
            rows = node.studies()
            return len(rows) == len(studies) and all(r["state"] in ("delivered", "failed") for r in rows)

        wait_until(settled, 240, "every study reported and delivered")
        rows = node.studies()
        failed = [(r["study_uid"], r["reason"]) for r in rows if r["state"] != "delivered"]
        assert failed == []
        results = sorted((node.root / "var" / "results").rglob("*.dcm"))
        assert len(results) == 2 * len(studies)
        for path in results:
            assert dciodvfy_errors(path) == [], path.name
        srs = orthanc.instances_by_modality().get("SR", [])
        assert {t["StudyInstanceUID"] for t in srs} == set(studies)
    finally:
        node.stop()
