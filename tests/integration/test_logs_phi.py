"""No patient name or ID in any log line after a fuzz run against a real node process (SCP, worker, web)."""

from __future__ import annotations

import io
import json
import logging
import random
import warnings
from pathlib import Path

from peers import NodeProcess, wait_until
from pydicom import dcmread
from pynetdicom import _config as pynetdicom_config
from test_scp_malformed import body_offset, file_bytes, relabel, source_dataset

from node.dicom.requestor import WakingAE
from node.logs.phi import install, redact, remember

NAMES = ["KAWAGUCHI^SHIGERU", "MORIOKA^AYAKO", "OYABU^TETSUO"]
IDS = ["PID9876543", "HX-55521-Q", "A00417788"]


def _fuzz_files(tmp: Path) -> list[Path]:
    rng = random.Random(4)
    out = []
    for i in range(60):
        ds = source_dataset()
        ds.PatientName, ds.PatientID = NAMES[i % 3], IDS[i % 3]
        ds.AccessionNumber = f"ACC{i:05d}"
        raw = bytearray(file_bytes(ds))
        start = body_offset(bytes(raw))
        kind = i % 4
        if kind == 0:
            raw = raw[: rng.randrange(start + 1, len(raw))]
        elif kind == 1:
            at = rng.randrange(start, start + 600)
            raw[at] ^= 1 << rng.randrange(8)
        elif kind == 2:
            raw = bytearray(relabel(bytes(raw), "1.2.840.10008.1.2"))
        path = tmp / f"fuzz{i}.dcm"
        path.write_bytes(bytes(raw))
        out.append(path)
    return out


def test_fuzz_run_leaves_no_name_or_id_in_any_log(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "node", stable_seconds=1.0).start()
    try:
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
        ae = WakingAE(ae_title="FUZZSCU")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4", ["1.2.840.10008.1.2.1"])
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4", ["1.2.840.10008.1.2"])
        assoc = ae.associate("127.0.0.1", node.port, ae_title="SPINENODE")
        assert assoc.is_established
        statuses = [int(assoc.send_c_store(p).Status) for p in _fuzz_files(tmp_path)]
        assoc.release()
        assert statuses.count(0) >= 5 and statuses.count(0) < 60
        wait_until(
            lambda: (
                node.studies()
                and all(s["state"] not in ("receiving", "stable", "queued", "analysing") for s in node.studies())
            ),
            120,
            "studies settled",
        )
    finally:
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = False
        node.stop()
    trail = node.cli("audit", "--json")
    assert trail.returncode == 0, trail.stderr
    associations = [e for e in json.loads(trail.stdout) if e["action"] == "association"]
    assert any(e["outcome"] == "success" and e["detail"]["calling_aet"] == "FUZZSCU" for e in associations)
    for value in NAMES + IDS:
        assert value not in trail.stdout, "no patient data in the audit trail"
    logs = [p for p in node.root.rglob("*") if p.is_file() and (p.suffix == ".log" or "log" in p.name)]
    assert logs
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "C-STORE refused" in text, "the fuzz run was logged"
    for value in NAMES + IDS + [n.split("^")[0] for n in NAMES] + ["ACC00001"]:
        assert value.casefold() not in text.casefold(), f"{value} in a log line"


def test_library_warnings_and_tracebacks_are_redacted(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    records: list[logging.LogRecord] = []
    handler.addFilter(lambda record: records.append(record) or True)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install()
        remember("SAITO^HANAKO", "ZX77123")
        ds = source_dataset()
        ds.PatientName, ds.PatientID = "SAITO^HANAKO", "ZX77123"
        path = tmp_path / "x.dcm"
        ds.save_as(path, enforce_file_format=True)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            ds = dcmread(path)
            ds.PatientSex = "not a CS value because it is far too long"
            warnings.warn(f"Invalid value for VR PN: '{ds.PatientName}'", UserWarning, stacklevel=1)
        logging.getLogger("pynetdicom").warning("raw %r", path.read_bytes()[132:1000])
        try:
            raise ValueError(f"cannot parse {ds.PatientID} for {ds.PatientName}")
        except ValueError:
            logging.getLogger("pydicom").exception("failed")
        logging.getLogger("uvicorn.error").warning("GET /study?name=KIMURA^TAKUYA")
        access = logging.getLogger("uvicorn.access")
        access.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/find?pid=ZX77123", "1.1", 200)
        assert isinstance(records[-1].args, tuple) and len(records[-1].args) == 5, "args keep their shape"
    finally:
        root.removeHandler(handler)
        logging.captureWarnings(False)
    text = stream.getvalue()
    assert "failed" in text and "raw '<" in text and "GET /study" in text and '"GET /find?pid=' in text
    for value in ("SAITO", "HANAKO", "ZX77123", "KIMURA"):
        assert value not in text, value


def test_redact_keeps_ordinary_text() -> None:
    line = "C-STORE refused (cannot understand): element (7FE0,0010) runs past the end of its dataset"
    assert redact(line) == line
    assert (
        redact("connection from 127.0.0.1 refused: 4 connections") == "connection from 127.0.0.1 refused: 4 connections"
    )


def test_traceback_markers_are_no_person_name() -> None:
    marker = "    outcome, delivery_ids = analyse(rt, job_id)\n                            ^^^^^^^^^^^^^^^^^"
    assert redact(marker) == marker
    assert "DOE^JANE" not in redact("patient DOE^JANE sent") and "sent" in redact("patient DOE^JANE sent")
