import os
from pathlib import Path

import pytest

from node.dicom.spool import Spool, SpoolFull
from node.dicom.uids import check_uid, is_valid_uid


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
