"""The storage SCP against real peers on loopback: DCMTK storescu/echoscu and pynetdicom SCUs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from peers import dcmtk, free_port, storescu
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pynetdicom import AE

from node.dicom.received import Received
from node.dicom.scp import StorageSCP
from node.dicom.scu import send_files
from node.dicom.spool import Spool

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "dicom"


def mr_dataset(study: str | None = None, series: str | None = None) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    ds.Modality = "MR"
    ds.PatientName = "TEST^SCP"
    ds.PatientID = "SCP1"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.arange(64, dtype=np.uint16).tobytes()
    return ds


class Harness:
    def __init__(self, root: Path, **kwargs: object) -> None:
        self.received: list[Received] = []
        self.spool = Spool(root / "spool", min_free_bytes=int(kwargs.pop("min_free_bytes", 0)))  # type: ignore[call-overload]
        self.scp = StorageSCP(
            ae_title="SPINENODE",
            host="127.0.0.1",
            port=free_port(),
            spool=self.spool,
            on_received=self.received.append,
            **kwargs,
        )

    def files(self) -> list[Path]:
        return self.spool.iter_files()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    h.scp.start()
    yield h
    h.scp.stop()


def send(ds: Dataset, port: int, calling: str = "TESTSCU") -> int | None:
    ae = AE(ae_title=calling)
    ae.add_requested_context(ds.SOPClassUID, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="SPINENODE")
    assert assoc.is_established
    status = assoc.send_c_store(ds)
    assoc.release()
    return int(status.Status) if status else None


def test_storescu_study_is_spooled_byte_for_byte(harness: Harness, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    study = generate_uid()
    paths = []
    for i in range(5):
        ds = mr_dataset(study=study)
        p = src / f"{i}.dcm"
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    out = storescu(paths, harness.scp.port)
    assert out.returncode == 0, out.stderr
    assert len(harness.received) == 5
    assert {r.header.study_uid for r in harness.received} == {study}
    for p in paths:
        ds = dcmread(p)
        stored = harness.spool.path_for(study, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        assert stored.exists()
        assert dcmread(stored).PixelData == ds.PixelData


@pytest.mark.parametrize("folder", ["dcm_qa_ts/In"])
def test_every_transfer_syntax_stored_as_received(harness: Harness, folder: str) -> None:
    files = sorted(p for p in (DATA / folder).rglob("*") if p.is_file() and not p.name.startswith("."))
    dicom_files = []
    for p in files:
        try:
            ds = dcmread(p, stop_before_pixels=True)
        except Exception:
            continue
        if ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.2":  # big endian: retired, not offered
            dicom_files.append(p)
    assert len(dicom_files) >= 5
    # The sender proposes each file's own syntax plus the uncompressed ones (as PACS do); the SCP must
    # pick the file's own so that nothing is decompressed or recompressed on the way.
    outcomes = send_files(dicom_files, "SPINENODE", "127.0.0.1", harness.scp.port)
    assert all(o.ok for o in outcomes), [(o.path.name, o.status, o.detail) for o in outcomes]
    syntaxes = set()
    for p in dicom_files:
        ds = dcmread(p, stop_before_pixels=True)
        stored = harness.spool.path_for(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        back = dcmread(stored, stop_before_pixels=True)
        assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
        assert stored.read_bytes()[-4096:] == p.read_bytes()[-4096:], "pixel data not re-encoded"
        syntaxes.add(str(back.file_meta.TransferSyntaxUID))
    assert len(syntaxes) >= 5


def test_duplicate_instance_is_idempotent(harness: Harness) -> None:
    ds = mr_dataset()
    assert send(ds, harness.scp.port) == 0
    assert send(ds, harness.scp.port) == 0
    assert len(harness.files()) == 1
    assert len(harness.received) == 1


def test_hostile_study_uid_refused_and_nothing_written(harness: Harness) -> None:
    ds = mr_dataset()
    ds.StudyInstanceUID = "../../../../tmp/evil"
    assert send(ds, harness.scp.port) == 0xC211
    assert harness.files() == []
    ds2 = mr_dataset()
    assert send(ds2, harness.scp.port) == 0, "node keeps serving"


def test_malformed_dataset_gets_c210_and_node_keeps_serving(harness: Harness, tmp_path: Path) -> None:
    good = mr_dataset()
    path = tmp_path / "bad.dcm"
    good.save_as(path, enforce_file_format=True)
    raw = bytearray(path.read_bytes())
    # corrupt the length of the PatientName element so that it runs past the end of the file
    idx = raw.find(b"\x10\x00\x10\x00PN")
    assert idx > 0
    raw[idx + 6 : idx + 8] = b"\xff\xff"
    raw = raw[: idx + 40]
    path.write_bytes(bytes(raw))
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", harness.scp.port, ae_title="SPINENODE")
    assert assoc.is_established
    status = assoc.send_c_store(path)
    assoc.release()
    assert int(status.Status) == 0xC210
    assert harness.files() == []
    assert send(mr_dataset(), harness.scp.port) == 0


def test_unknown_sop_class_is_not_accepted(harness: Harness) -> None:
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.481.1", ExplicitVRLittleEndian)  # RT Image
    assoc = ae.associate("127.0.0.1", harness.scp.port, ae_title="SPINENODE")
    assert not assoc.is_established or not assoc.accepted_contexts
    if assoc.is_established:
        assoc.release()


def test_unknown_calling_ae_rejected_with_reason(tmp_path: Path) -> None:
    h = Harness(tmp_path, allowed_calling_aets=["STORESCU"])
    h.scp.start()
    try:
        bad = subprocess.run(
            [dcmtk("echoscu"), "-aet", "INTRUDER", "-aec", "SPINENODE", "127.0.0.1", str(h.scp.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert bad.returncode != 0
        assert "Calling AE Title Not Recognized" in (bad.stdout + bad.stderr)
        good = subprocess.run(
            [dcmtk("echoscu"), "-aet", "STORESCU", "-aec", "SPINENODE", "127.0.0.1", str(h.scp.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert good.returncode == 0, good.stderr
    finally:
        h.scp.stop()


def test_below_free_space_watermark_answers_out_of_resources(tmp_path: Path) -> None:
    h = Harness(tmp_path, min_free_bytes=2**62)
    h.scp.start()
    try:
        assert send(mr_dataset(), h.scp.port) == 0xA700
        assert h.files() == []
    finally:
        h.scp.stop()


def test_max_pdu_is_configurable(tmp_path: Path) -> None:
    h = Harness(tmp_path, max_pdu=32768)
    assert h.scp.ae.maximum_pdu_size == 32768
    h.scp.start()
    try:
        assert send(mr_dataset(), h.scp.port) == 0
    finally:
        h.scp.stop()


def test_association_tracker_marks_study_busy_until_release(harness: Harness) -> None:
    ds = mr_dataset()
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", harness.scp.port, ae_title="SPINENODE")
    assert int(assoc.send_c_store(ds).Status) == 0
    assert ds.StudyInstanceUID in harness.scp.tracker.busy_studies()
    assoc.release()
    import time

    for _ in range(50):
        if not harness.scp.tracker.busy_studies():
            break
        time.sleep(0.05)
    assert ds.StudyInstanceUID not in harness.scp.tracker.busy_studies()


def test_spool_folder_removed_while_running_is_recreated(harness: Harness) -> None:
    import shutil

    assert send(mr_dataset(), harness.scp.port) == 0
    shutil.rmtree(harness.spool.root)
    ds = mr_dataset()
    assert send(ds, harness.scp.port) == 0
    assert harness.spool.path_for(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID).exists()


def test_spool_folder_that_cannot_be_made_gives_a700(harness: Harness) -> None:
    import shutil

    harness.spool.close_journal()  # the spare segment written at start-up may still be in progress
    shutil.rmtree(harness.spool.root)
    harness.spool.root.write_bytes(b"not a folder")
    assert send(mr_dataset(), harness.scp.port) == 0xA700
    harness.spool.root.unlink()
    assert send(mr_dataset(), harness.scp.port) == 0, "and it recovers once the path is usable"


def test_association_held_open_stops_holding_its_study(tmp_path: Path) -> None:
    import time

    h = Harness(tmp_path, hold_seconds=1.0)
    h.scp.start()
    try:
        ds = mr_dataset()
        ae = AE(ae_title="HOLDER")
        ae.add_requested_context(ds.SOPClassUID, ExplicitVRLittleEndian)
        ae.add_requested_context("1.2.840.10008.1.1")
        assoc = ae.associate("127.0.0.1", h.scp.port, ae_title="SPINENODE")
        assert assoc.is_established
        assert int(assoc.send_c_store(ds).Status) == 0
        assert h.scp.tracker.busy_studies() == {ds.StudyInstanceUID}
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            assoc.send_c_echo()  # the peer keeps the association alive
            time.sleep(0.3)
        assert h.scp.tracker.busy_studies() == set(), "held no longer than hold_seconds after the last instance"
        assoc.release()
    finally:
        h.scp.stop()
