"""The ingest recorder on a real SQLite registry: batches, one transaction each, nothing lost or doubled."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

from instance_headers import instance_header
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from sqlalchemy import event, func, select

from node.dicom.received import Received
from node.dicom.spool import Spool
from node.ingest.recorder import IngestRecorder, PatientKeyer, record_instances, rescan_spool
from node.registry.db import Registry
from node.registry.models import Instance, Series, Study


def received(study: str, series: str, sop: str) -> Received:
    return Received(instance_header(study, series, sop), Path(f"/spool/{sop}.dcm"), 10)


def counts(registry: Registry) -> tuple[int, int, int]:
    with registry.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Study)) or 0,
            s.scalar(select(func.count()).select_from(Series)) or 0,
            s.scalar(select(func.count()).select_from(Instance)) or 0,
        )


def commits(registry: Registry) -> list[int]:
    seen: list[int] = []
    event.listen(registry.engine, "commit", lambda connection: seen.append(1))
    return seen


def wait_idle(recorder: IngestRecorder, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while recorder.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.pending == 0


def test_records_put_together_are_written_in_one_transaction(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    recorder = IngestRecorder(registry, PatientKeyer(tmp_path), linger=0.3)
    seen = commits(registry)
    recorder.start()
    try:
        items = [received("1.2.3", f"1.2.3.{k % 2}", f"1.2.3.9.{k}") for k in range(30)]
        for item in items:
            recorder.put(item)
        recorder.put(items[0])  # the same instance again in the batch: recorded once
        assert recorder.pending == 31
        wait_idle(recorder)
    finally:
        recorder.stop()
    assert seen == [1]
    assert counts(registry) == (1, 2, 30)


def test_a_batch_larger_than_the_limit_is_written_whole_in_pieces(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    recorder = IngestRecorder(registry, PatientKeyer(tmp_path), batch=7, linger=0.2)
    seen = commits(registry)
    recorder.start()
    try:
        for k in range(30):
            recorder.put(received("1.2.3", "1.2.3.1", f"1.2.3.9.{k}"))
        wait_idle(recorder)
    finally:
        recorder.stop()
    assert len(seen) == 5  # 7 + 7 + 7 + 7 + 2
    assert counts(registry) == (1, 1, 30)


def test_stop_writes_what_is_still_queued_without_waiting_out_the_linger(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    recorder = IngestRecorder(registry, PatientKeyer(tmp_path), linger=30)
    recorder.start()
    for k in range(5):
        recorder.put(received("1.2.3", "1.2.3.1", f"1.2.3.9.{k}"))
    started = time.monotonic()
    recorder.stop()
    assert time.monotonic() - started < 10
    assert recorder.pending == 0
    assert counts(registry) == (1, 1, 5)


def test_a_batch_whose_commit_failed_is_written_whole_on_the_retry(tmp_path: Path) -> None:
    """The first commit fails after the inserts ran (a crash of the transaction mid-batch): nothing of
    the batch stays, and the retry records every instance once."""
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    failures = [RuntimeError("database went away")]

    def fail_once(session: object) -> None:
        if failures:
            raise failures.pop()

    event.listen(registry._sessions, "before_commit", fail_once)
    recorder = IngestRecorder(registry, PatientKeyer(tmp_path), linger=0.05)
    recorder.start()
    try:
        for k in range(12):
            recorder.put(received("1.2.3", "1.2.3.1", f"1.2.3.9.{k}"))
        wait_idle(recorder)
    finally:
        recorder.stop()
    assert failures == []
    assert counts(registry) == (1, 1, 12)


def test_late_instances_of_a_known_series_join_it(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    keyer = PatientKeyer(tmp_path)
    with registry.session() as s:
        record_instances(s, [received("1.2.3", "1.2.3.1", "1.2.3.9.1")], keyer)
    with registry.session() as s:
        touched = record_instances(
            s, [received("1.2.3", "1.2.3.1", "1.2.3.9.1"), received("1.2.3", "1.2.3.1", "1.2.3.9.2")], keyer
        )
        assert touched == {"1.2.3"}
        assert record_instances(s, [received("1.2.3", "1.2.3.1", "1.2.3.9.2")], keyer) == set()
    assert counts(registry) == (1, 1, 2)


def _instance(sop: str) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = "1.2.3", "1.2.3.1", "MR"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_records_lost_with_the_process_are_registered_from_the_spool_at_start(tmp_path: Path) -> None:
    """Acknowledged (journaled) instances whose records were still queued when the process died: the next
    start's rescan registers every one of them, and only once."""
    spool = Spool(tmp_path / "spool")
    journal = spool.journal()
    sops = [f"1.2.3.9.{k}" for k in range(6)]
    for sop in sops:
        spool.store("1.2.3", "1.2.3.1", sop, [_instance(sop)], journal=journal)
    journal.close()
    spool.wait_for_checkpoints()
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    keyer = PatientKeyer(tmp_path)
    with registry.session() as s:  # the first two made it into the registry before the crash
        record_instances(
            s,
            [
                Received(instance_header("1.2.3", "1.2.3.1", sop), spool.path_for("1.2.3", "1.2.3.1", sop), 1)
                for sop in sops[:2]
            ],
            keyer,
        )
    assert rescan_spool(registry, Spool(tmp_path / "spool").iter_files(), keyer) == 4
    assert counts(registry) == (1, 1, 6)
    assert rescan_spool(registry, Spool(tmp_path / "spool").iter_files(), keyer) == 0
    spool.close_journal()
