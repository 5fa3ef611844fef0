"""End to end with real peers: DCMTK storescu -> spinenode serve -> Orthanc (the PACS).

Every test starts its own node process and its own Orthanc on free loopback ports.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from peers import NodeProcess, Orthanc, dcmtk, free_port, storescu, wait_until
from pydicom import dcmread

from workers.phantom import write_phantom
from workers.results.validate import dciodvfy_errors

pytestmark = pytest.mark.integration


def _node(tmp_path: Path, pacs: Orthanc | None, port: int | None = None, **kw: object) -> NodeProcess:
    dest = {
        "name": "pacs",
        "ae_title": "ORTHANC",
        "host": "127.0.0.1",
        "port": pacs.dicom_port if pacs else port,
        "first_retry_seconds": 1.0,
    }
    dest.update(kw.pop("dest", {}))
    return NodeProcess(tmp_path / "node", destinations=[dest], **kw)  # type: ignore[arg-type]


def _results_in(pacs: Orthanc, study_uid: str) -> dict[str, list[dict]]:
    found = pacs.instances_by_modality()
    return {m: [t for t in v if t.get("StudyInstanceUID") == study_uid] for m, v in found.items()}


def test_study_from_storescu_reaches_pacs_as_valid_sr_and_sc(tmp_path: Path, orthanc: Orthanc) -> None:
    study = write_phantom(tmp_path / "study", "simple")
    node = _node(tmp_path, orthanc).start()
    try:
        out = storescu(list(study.files), node.port)
        assert out.returncode == 0, out.stderr
        started = time.monotonic()

        def delivered() -> bool:
            found = _results_in(orthanc, study.study_instance_uid)
            return bool(found.get("SR")) and bool(found.get("OT") or found.get("SC"))

        wait_until(delivered, 90, "SR and SC in Orthanc")
        elapsed = time.monotonic() - started
        assert elapsed < 60, f"results took {elapsed:.1f} s"
        found = _results_in(orthanc, study.study_instance_uid)
        sr_tags = found["SR"][0]
        sc_tags = (found.get("OT") or found.get("SC"))[0]  # type: ignore[index]
        source = dcmread(study.files[0], stop_before_pixels=True)
        for tags in (sr_tags, sc_tags):
            assert tags["PatientID"] == source.PatientID
            assert tags["StudyInstanceUID"] == source.StudyInstanceUID
            assert tags["SeriesInstanceUID"] not in {
                dcmread(f, stop_before_pixels=True).SeriesInstanceUID for f in study.files
            }
        for name, tags in (("sr", sr_tags), ("sc", sc_tags)):
            path = tmp_path / f"{name}.dcm"
            path.write_bytes(orthanc.download(tags["_id"]))
            assert dciodvfy_errors(path) == [], f"{name} has dciodvfy errors"
        sc = dcmread(tmp_path / "sc.dcm")
        assert sc.BurnedInAnnotation == "YES"
        # Long values in full: DCMTK shortens them by bytes, which can cut a UTF-8 character in two.
        dump = subprocess.run([dcmtk("dsrdump"), "+Pl", str(tmp_path / "sr.dcm")], capture_output=True, text=True)
        assert dump.returncode == 0 and "Imaging Measurement Report" in dump.stdout
        rows = node.studies()
        assert rows[0]["state"] == "delivered"
        assert [d["state"] for d in rows[0]["deliveries"]] == ["delivered"]

        # Re-running the same revision must not duplicate objects in PACS (deterministic UIDs).
        db = node.root / "var" / "spinenode.sqlite"
        with sqlite3.connect(db) as con:
            con.execute("UPDATE job SET state='queued', enqueued_at=NULL")
            con.execute("UPDATE study SET state='queued'")
            con.execute("UPDATE delivery SET state='pending', enqueued_at=NULL")
        wait_until(lambda: node.studies()[0]["deliveries"][0]["attempts"] >= 2, 60, "second delivery")
        wait_until(lambda: node.studies()[0]["state"] == "delivered", 60, "delivered again")
        again = _results_in(orthanc, study.study_instance_uid)
        assert len(again["SR"]) == 1 and len(again.get("OT") or again.get("SC") or []) == 1
    finally:
        node.stop()
    assert "PHANTOM" not in node.log_text(), "patient names must not be logged"


def test_late_instance_reopens_study_and_amends_the_report(tmp_path: Path, orthanc: Orthanc) -> None:
    study = write_phantom(tmp_path / "study", "simple")
    series = sorted({f.parent for f in study.files})
    first, late = [f for f in study.files if f.parent == series[0]], [f for f in study.files if f.parent != series[0]]
    node = _node(tmp_path, orthanc).start()
    try:
        assert storescu(first, node.port).returncode == 0
        wait_until(lambda: len(_results_in(orthanc, study.study_instance_uid).get("SR", [])) == 1, 90, "first SR")
        assert storescu(late, node.port).returncode == 0
        wait_until(lambda: len(_results_in(orthanc, study.study_instance_uid).get("SR", [])) == 2, 90, "amended SR")
        srs = _results_in(orthanc, study.study_instance_uid)["SR"]
        datasets = []
        for tags in srs:
            path = tmp_path / f"{tags['SOPInstanceUID']}.dcm"
            path.write_bytes(orthanc.download(tags["_id"]))
            datasets.append(dcmread(path))
            assert dciodvfy_errors(path) == []
        amended = next(d for d in datasets if "PredecessorDocumentsSequence" in d)
        original = next(d for d in datasets if "PredecessorDocumentsSequence" not in d)
        ref = amended.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
        assert ref.ReferencedSOPInstanceUID == original.SOPInstanceUID
        row = node.studies()[0]
        assert row["revision"] == 2 and row["instances"] == len(study.files)
    finally:
        node.stop()


def test_kill9_mid_study_loses_nothing_acknowledged(tmp_path: Path, orthanc: Orthanc) -> None:
    study = write_phantom(tmp_path / "study", "simple")
    files = sorted(study.files)
    node = _node(tmp_path, orthanc, stable_seconds=3.0).start()
    sender = subprocess.Popen(
        [dcmtk("storescu"), "-v", "-nh", "-aec", "SPINENODE", "127.0.0.1", str(node.port), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert sender.stdout is not None
    acked: list[str] = []
    current = None
    for line in sender.stdout:
        m = re.search(r"Sending file: (\S+)", line)
        if m:
            current = m.group(1)
        if "Received Store Response (Success)" in line and current:
            acked.append(current)
            if len(acked) == len(files) // 2:
                node.kill9()
                break
    sender.wait(timeout=30)
    assert len(acked) == len(files) // 2
    spool = node.root / "var" / "spool"
    for path in acked:
        ds = dcmread(path, stop_before_pixels=True)
        assert (spool / ds.StudyInstanceUID / ds.SeriesInstanceUID / f"{ds.SOPInstanceUID}.dcm").exists()
    node.start()
    try:
        row = wait_until(lambda: node.studies(), 30, "registry rebuilt from the spool")[0]
        assert row["instances"] >= len(acked)
        assert storescu(files, node.port).returncode == 0  # the sender retries the whole study
        wait_until(lambda: _results_in(orthanc, study.study_instance_uid).get("SR"), 90, "SR after restart")
        assert node.studies()[0]["instances"] == len(files)
    finally:
        node.stop()


def test_destination_down_then_up_gets_results_and_never_marked_delivered_before(tmp_path: Path) -> None:
    pacs_port = free_port()
    study = write_phantom(tmp_path / "study", "simple")
    node = _node(tmp_path, None, port=pacs_port).start()
    pacs = Orthanc(tmp_path / "orthanc", dicom_port=pacs_port)
    try:
        assert storescu(list(study.files), node.port).returncode == 0

        def failed_twice() -> bool:
            rows = node.studies()
            return bool(rows and rows[0]["deliveries"] and rows[0]["deliveries"][0]["attempts"] >= 2)

        wait_until(failed_twice, 90, "two failed attempts")
        row = node.studies()[0]
        assert row["state"] == "reported"
        assert row["deliveries"][0]["state"] in ("pending", "sending")
        assert row["deliveries"][0]["last_error"]
        pacs.start()
        wait_until(lambda: node.studies()[0]["state"] == "delivered", 90, "delivered after PACS came up")
        assert _results_in(pacs, study.study_instance_uid).get("SR")
    finally:
        node.stop()
        pacs.stop()


def _first_delivery_state(node: NodeProcess) -> str | None:
    """The state of the first delivery of the node's first study, from one listing (None before there is one:
    the study is recorded a moment after its last C-STORE response)."""
    studies = node.studies()
    deliveries = studies[0].get("deliveries") or [] if studies else []
    return str(deliveries[0]["state"]) if deliveries else None


def test_delivery_past_max_age_is_a_visible_dead_letter(tmp_path: Path) -> None:
    study = write_phantom(tmp_path / "study", "simple")
    node = _node(tmp_path, None, port=free_port(), dest={"max_age_seconds": 3.0}).start()
    try:
        assert storescu(list(study.files), node.port).returncode == 0
        wait_until(lambda: _first_delivery_state(node) == "dead", 90, "dead letter")
        row = node.studies()[0]
        assert row["state"] != "delivered"
        table = node.cli("studies")
        assert "pacs:dead" in table.stdout
    finally:
        node.stop()
