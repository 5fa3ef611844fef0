from pathlib import Path

import pytest

from node.dicom.scu import collect_files, parse_destination


def test_parse_destination() -> None:
    assert parse_destination("ORTHANC@127.0.0.1:4242") == ("ORTHANC", "127.0.0.1", 4242)
    assert parse_destination("A@host.example:104") == ("A", "host.example", 104)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("ORTHANC", "AET@HOST:PORT"),
        ("A@h", "AET@HOST:PORT"),
        ("@h:1", "AE title"),
        ("A@h:x", "not a number"),
        ("A@h:0", "out of range"),
        ("TOO_LONG_AE_TITLE_X@h:1", "AE title"),
    ],
)
def test_bad_destination(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_destination(text)


def test_collect_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.dcm").write_bytes(b"x")
    (tmp_path / "a" / ".hidden").write_bytes(b"x")
    (tmp_path / "b.dcm").write_bytes(b"x")
    assert collect_files([tmp_path / "a", tmp_path / "b.dcm"]) == [tmp_path / "a" / "1.dcm", tmp_path / "b.dcm"]
    with pytest.raises(FileNotFoundError, match="missing"):
        collect_files([tmp_path / "missing"])
