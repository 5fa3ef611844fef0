import os
import struct
import zlib
from pathlib import Path

import pytest

from node.dicom import journal as journal_module
from node.dicom.journal import Journal, records
from node.dicom.spool import Spool, SpoolFull
from node.dicom.uids import check_uid, is_valid_uid


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spare segments of 1 MiB, not 64 (taking a spare writes out the next one in the background)."""
    monkeypatch.setattr(journal_module, "SPARE_BYTES", 1 << 20)
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 1 << 20)


@pytest.mark.parametrize("uid", ["1.2.3", "1.2.840.10008.5.1.4.1.1.4", "0.1", "2.25.1234567890"])
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)


@pytest.mark.parametrize(
    "uid", ["", "1", "../1.2", "1.2/3", "1..2", "1.02", ".1.2", "1.2.", "1.2.3 ", "1." + "1" * 63, None, 12]
)
def test_invalid_uids(uid: object) -> None:
    assert not is_valid_uid(uid)
    with pytest.raises(ValueError, match="StudyInstanceUID"):
        check_uid(uid, "StudyInstanceUID")


def test_store_is_atomic_and_idempotent(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.store("1.2.3", "1.2.3.4", "1.2.3.4.5", [b"DICM", b"data"])
    assert first.path == tmp_path / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm"
    assert first.path.read_bytes() == b"DICMdata" and not first.duplicate
    again = spool.store("1.2.3", "1.2.3.4", "1.2.3.4.5", [b"other"])
    assert again.duplicate and first.path.read_bytes() == b"DICMdata"
    assert not [p for p in first.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_hostile_uid_writes_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    with pytest.raises(ValueError, match="SeriesInstanceUID"):
        spool.store("1.2.3", "../../etc", "1.2.3.4.5", [b"x"])
    assert list((tmp_path / "spool").rglob("*")) == []


def test_watermark(tmp_path: Path) -> None:
    spool = Spool(tmp_path, min_free_bytes=2**62)
    assert not spool.has_room()
    with pytest.raises(SpoolFull):
        spool.store("1.2.3", "1.2.3.4", "1.2.3.4.5", [b"x"])
    assert spool.iter_files() == []


def test_iter_files_drops_leftover_temporaries(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    kept = spool.store("1.2.3", "1.2.3.4", "1.2.3.4.5", [b"x"]).path
    leftover = kept.parent / f".1.2.3.4.6.{os.getpid()}.tmp"
    leftover.write_bytes(b"partial")
    assert spool.iter_files() == [kept]
    assert not leftover.exists()


def test_directory_removed_behind_the_spool_is_recreated(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    p = spool.store("1.2.3", "1.2.3.4", "1.2.3.4.5", [b"x"]).path
    p.unlink()
    p.parent.rmdir()
    assert spool.store("1.2.3", "1.2.3.4", "1.2.3.4.6", [b"y"]).path.exists()


def _journaled(spool: Spool, sop: str, data: bytes, journal: Journal) -> Path:
    return spool.store("1.2.3", "1.2.3.4", sop, [b"DICM", data], journal=journal).path


def _live(spool: Spool) -> list[int]:
    """How many records each segment that holds any has (spares and emptied segments hold none)."""
    return sorted(n for n in (len(list(records(s.read_bytes()))) for s in spool.journal_dir.glob("*.seg")) if n)


def test_journaled_store_is_in_place_at_once_and_checkpointed_when_closed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    paths = [_journaled(spool, f"1.2.3.4.{i}", bytes([i]) * 1000, journal) for i in range(1, 4)]
    assert [p.read_bytes() for p in paths] == [b"DICM" + bytes([i]) * 1000 for i in range(1, 4)]
    assert _live(spool) == [3]  # the durable copy, until checkpointed
    journal.close()
    spool.wait_for_checkpoints()
    assert _live(spool) == [] and list(spool.journal_dir.glob("*.seg"))  # emptied, kept
    spool.close_journal()
    assert list(spool.journal_dir.glob("*.seg")) == []
    assert sorted(spool.iter_files()) == sorted(paths)


def _crash(journal: Journal) -> None:
    """The process dies: its segment stays, unlocked, never checkpointed."""
    segment = journal._segment
    assert segment is not None
    os.close(segment.fd)
    journal._segment = None


def test_acknowledged_instances_lost_from_the_page_cache_are_rewritten_from_the_journal(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    kept = _journaled(spool, "1.2.3.4.1", b"a" * 5000, journal)
    emptied = _journaled(spool, "1.2.3.4.2", b"b" * 5000, journal)
    lost = _journaled(spool, "1.2.3.4.3", b"c" * 5000, journal)
    _crash(journal)
    # A power loss leaves unsynced files empty, short or missing: what the journal must repair.
    emptied.write_bytes(b"")
    lost.unlink()
    after = Spool(tmp_path)
    assert sorted(after.iter_files()) == sorted([kept, emptied, lost])
    assert kept.read_bytes() == b"DICM" + b"a" * 5000
    assert emptied.read_bytes() == b"DICM" + b"b" * 5000
    assert lost.read_bytes() == b"DICM" + b"c" * 5000
    assert _live(after) == []


def test_a_torn_last_record_is_dropped_and_the_records_before_it_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    first = _journaled(spool, "1.2.3.4.1", b"a" * 5000, journal)
    second = _journaled(spool, "1.2.3.4.2", b"b" * 5000, journal)
    segment = journal._segment
    assert segment is not None
    _crash(journal)
    first.unlink()
    second.unlink()
    with segment.path.open("r+b") as f:  # the second record was being written when power went
        f.truncate(segment.size - 100)
    assert Spool(tmp_path).iter_files() == [first]
    assert first.read_bytes() == b"DICM" + b"a" * 5000


def test_a_record_whose_bytes_do_not_match_its_checksum_is_not_restored(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    path = _journaled(spool, "1.2.3.4.1", b"a" * 5000, journal)
    segment = journal._segment
    assert segment is not None
    _crash(journal)
    path.unlink()
    with segment.path.open("r+b") as f:  # a block that never reached the disk reads as zeros
        f.seek(2000)
        f.write(bytes(512))
    assert Spool(tmp_path).iter_files() == []


def test_a_live_associations_segment_is_left_to_its_writer(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    path = _journaled(spool, "1.2.3.4.1", b"a" * 100, journal)
    path.unlink()  # not something a live writer sees; shows that recovery did not touch the segment
    assert Spool(tmp_path).recover() == 0
    assert _live(spool) == [1] and not path.exists()
    journal.close()
    spool.wait_for_checkpoints()


def test_a_failed_journal_write_starts_a_new_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    _journaled(spool, "1.2.3.4.1", b"a" * 100, journal)
    first = journal._segment
    real = os.fdatasync

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full)
    with pytest.raises(OSError):
        _journaled(spool, "1.2.3.4.2", b"b" * 100, journal)
    monkeypatch.setattr(os, "fdatasync", real)
    assert not spool.path_for("1.2.3", "1.2.3.4", "1.2.3.4.2").exists()
    assert not list(spool.path_for("1.2.3", "1.2.3.4", "1.2.3.4.2").parent.glob(".*.tmp"))
    spool.wait_for_checkpoints()  # the failed segment: checkpointed, then deleted rather than reused
    assert first is not None and not first.path.exists()
    later = _journaled(spool, "1.2.3.4.3", b"c" * 100, journal)
    assert journal._segment is not first and later.exists()
    journal.close()
    spool.close_journal()
    assert list(spool.journal_dir.glob("*.seg")) == []


def test_without_syncfs_the_checkpoint_syncs_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(journal_module, "_SYNCFS", None)
    spool = Spool(tmp_path)
    journal = spool.journal()
    for i in range(1, 4):
        _journaled(spool, f"1.2.3.4.{i}", b"x" * 100, journal)
    spool.wait_for_checkpoints()  # the spare written out after the first record (its own fsync)
    monkeypatch.setattr(os, "fsync", fsync)
    journal.close()
    spool.wait_for_checkpoints()
    assert len(synced) == 4  # three files and their one folder
    assert _live(spool) == []


def test_a_reused_segment_replays_only_its_new_records(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.journal()
    old = [_journaled(spool, f"1.2.3.4.{i}", bytes([i]) * 5000, first) for i in range(1, 4)]
    segment = first._segment
    assert segment is not None
    first.close()
    spool.wait_for_checkpoints()
    size = segment.path.stat().st_size
    second = spool.journal()
    new = _journaled(spool, "1.2.3.4.9", b"n" * 5000, second)
    assert second._segment is segment  # the emptied segment, written over from its start
    assert segment.path.stat().st_size == size  # into the blocks it had: no metadata to sync
    _crash(second)
    # Retention removed an old instance whose record is still in the segment, behind the new one (same
    # length, so it starts where a next record would); the new instance's unsynced file was lost.
    old[1].unlink()
    new.unlink()
    assert sorted(Spool(tmp_path).iter_files()) == sorted([old[0], old[2], new])
    assert new.read_bytes() == b"DICM" + b"n" * 5000


def test_a_prepared_segment_is_written_out_before_use(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.prepare_journal()
    spool.wait_for_checkpoints()
    (spare,) = spool.journal_dir.glob("*.seg")
    stat = spare.stat()
    assert stat.st_size == 1 << 20 and stat.st_blocks * 512 >= stat.st_size  # no holes
    journal = spool.journal()
    paths = [_journaled(spool, f"1.2.3.4.{i}", bytes([i]) * 100_000, journal) for i in range(1, 4)]
    assert journal._segment is not None and journal._segment.path == spare
    assert spare.stat().st_size == 1 << 20
    _crash(journal)
    for path in paths:
        path.unlink()
    assert sorted(Spool(tmp_path).iter_files()) == sorted(paths)
    spool.close_journal()


def test_a_full_segment_is_checkpointed_and_the_next_record_goes_to_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 250_000)
    spool = Spool(tmp_path)
    journal = spool.journal()
    paths = [_journaled(spool, f"1.2.3.4.{i}", bytes([i]) * 100_000, journal) for i in range(1, 6)]
    spool.wait_for_checkpoints()  # the full segments' files synced, the segments emptied
    segment = journal._segment
    assert segment is not None
    assert [len(list(records(s.read_bytes()))) for s in sorted(spool.journal_dir.glob("*.seg"))].count(1) == 1
    _crash(journal)
    paths[4].unlink()
    assert sorted(Spool(tmp_path).iter_files()) == sorted(paths)
    spool.close_journal()


def test_a_segment_left_by_the_node_before_reuse_is_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.journal_dir.mkdir()
    body = b"DICM" + b"z" * 3000
    name = b"1.2.3/1.2.3.4/1.2.3.4.7.dcm"
    head = struct.pack("<4sHQI", b"SNJ1", len(name), len(body), zlib.crc32(body, zlib.crc32(name)))
    (spool.journal_dir / "1-0.seg").write_bytes(head + name + body)
    assert spool.iter_files() == [spool.path_for("1.2.3", "1.2.3.4", "1.2.3.4.7")]
    assert spool.path_for("1.2.3", "1.2.3.4", "1.2.3.4.7").read_bytes() == body
    assert list(spool.journal_dir.glob("*.seg")) == []


def test_an_instance_file_is_in_place_only_once_its_record_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    journal = spool.journal()
    path = spool.path_for("1.2.3", "1.2.3.4", "1.2.3.4.1")
    real = os.fdatasync
    seen: list[bool] = []

    def fdatasync(fd: int) -> None:
        seen.append(path.exists())
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    assert _journaled(spool, "1.2.3.4.1", b"a" * 200_000, journal) == path
    assert seen == [False] and path.read_bytes() == b"DICM" + b"a" * 200_000
    assert not list(path.parent.glob(".*.tmp"))
    journal.close()
    spool.close_journal()
