"""Malformed datasets are never acknowledged: mutated files sent as raw bytes (pynetdicom's chunked file
sending, so nothing re-encodes them on the way); each refused one leaves nothing in the spool."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from peers import free_port
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, MRImageStorage, generate_uid
from pynetdicom import _config as pynetdicom_config

from node.dicom.fastheader import encode_file_meta
from node.dicom.requestor import WakingAE
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool
from node.dicom.uids import is_valid_uid

PATIENT_NAME = "FUZZ^PATIENTNAME"
PATIENT_ID = "FZ0123456789"


def source_dataset(syntax: str = ExplicitVRLittleEndian, with_sop_class: bool = True) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    if with_sop_class:
        ds.SOPClassUID = MRImageStorage
    ds.StudyDate = "20260101"
    ds.Modality = "MR"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ref = Dataset()
    ref.ReferencedSOPClassUID = MRImageStorage
    ref.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence = Sequence([ref])
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 32
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = np.arange(32 * 32, dtype=np.uint16).tobytes()
    return ds


def file_bytes(ds: Dataset) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def body_offset(raw: bytes) -> int:
    group_length = int.from_bytes(raw[140:144], "little")
    return 144 + group_length


def relabel(raw: bytes, syntax: str) -> bytes:
    """The same dataset bytes under file meta naming another transfer syntax."""
    ds = dcmread(__import__("io").BytesIO(raw), stop_before_pixels=True)
    meta = encode_file_meta(MRImageStorage, ds.file_meta.MediaStorageSOPInstanceUID, syntax, "1.2.3", "T", "FUZZ")
    return meta + raw[body_offset(raw) :]


class Node:
    def __init__(self, root: Path) -> None:
        self.spool = Spool(root / "spool", min_free_bytes=0)
        self.scp = StorageSCP(
            ae_title="SPINENODE",
            host="127.0.0.1",
            port=free_port(),
            spool=self.spool,
            on_received=lambda item: None,
        )

    def send_all(self, paths: list[Path]) -> list[int]:
        ae = WakingAE(ae_title="FUZZSCU")
        ae.add_requested_context(MRImageStorage, [ExplicitVRLittleEndian])
        ae.add_requested_context(MRImageStorage, [ImplicitVRLittleEndian])
        statuses = []
        assoc = ae.associate("127.0.0.1", self.scp.port, ae_title="SPINENODE")
        assert assoc.is_established
        for path in paths:
            status = assoc.send_c_store(path)
            statuses.append(int(status.Status) if status else -1)
        assoc.release()
        return statuses


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
    n = Node(tmp_path)
    n.scp.start()
    yield n
    n.scp.stop()
    pynetdicom_config.STORE_SEND_CHUNKED_DATASET = False


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def test_truncated_wrong_vr_relabelled_and_incomplete_datasets_are_refused(node: Node, tmp_path: Path) -> None:
    rng = random.Random(2)
    cases: list[tuple[str, Path]] = []
    for i in range(120):
        raw = file_bytes(source_dataset())
        cut = rng.randrange(body_offset(raw) + 1, len(raw))
        cases.append((f"truncated at {cut}", _write(tmp_path, f"t{i}.dcm", raw[:cut])))
    for i in range(40):
        raw = bytearray(file_bytes(source_dataset()))
        target = [b"\x20\x00\x0d\x00UI", b"\x20\x00\x0e\x00UI", b"\x08\x00\x18\x00UI", b"\x08\x00\x16\x00UI"][i % 4]
        at = raw.index(target, body_offset(bytes(raw)))
        raw[at + 4 : at + 6] = [b"US", b"SH", b"LO", b"CS", b"OB"][i % 5]
        cases.append((f"wrong VR on {target[:4].hex()}", _write(tmp_path, f"v{i}.dcm", bytes(raw))))
    for i in range(8):
        cases.append(
            (
                "explicit labelled implicit",
                _write(tmp_path, f"e{i}.dcm", relabel(file_bytes(source_dataset()), ImplicitVRLittleEndian)),
            )
        )
        implicit = file_bytes(source_dataset(ImplicitVRLittleEndian))
        cases.append(
            ("implicit labelled explicit", _write(tmp_path, f"i{i}.dcm", relabel(implicit, ExplicitVRLittleEndian)))
        )
    for i in range(2):
        cases.append(
            ("no SOP Class UID", _write(tmp_path, f"n{i}.dcm", file_bytes(source_dataset(with_sop_class=False))))
        )
    statuses = node.send_all([p for _, p in cases])
    acknowledged = [what for (what, _), status in zip(cases, statuses, strict=True) if status == 0]
    assert acknowledged == []
    assert set(statuses) <= {0xC210, 0xC211, 0xA900}, sorted(set(statuses))
    assert node.spool.iter_files() == []
    # and a good one still goes through
    assert node.send_all([_write(tmp_path, "good.dcm", file_bytes(source_dataset()))]) == [0]


def test_byte_flips_acknowledged_only_when_the_stored_file_reads_whole(node: Node, tmp_path: Path) -> None:
    rng = random.Random(3)
    paths = []
    for i in range(150):
        raw = bytearray(file_bytes(source_dataset()))
        start = body_offset(bytes(raw))
        at = rng.randrange(start, start + 600)  # the header region: the pixel bytes carry no structure
        raw[at] ^= 1 << rng.randrange(8)
        paths.append(_write(tmp_path, f"f{i}.dcm", bytes(raw)))
    statuses = node.send_all(paths)
    stored = node.spool.iter_files()
    assert len(stored) == statuses.count(0)
    assert 0 < statuses.count(0) < 150, "some flips only change a value; the rest break the structure"
    for path in stored:
        ds = dcmread(path)
        for elem in ds.iterall():
            if elem.VR == "UI":
                assert is_valid_uid(str(elem.value)), elem.tag
        assert len(ds.PixelData) == 32 * 32 * 2
        # the sequence reads whole (a flip in its tag may rename it, never cut it)
        sequences = [elem for elem in ds if elem.VR == "SQ"]
        assert [len(elem.value) for elem in sequences] == [1]
        assert len(sequences[0].value[0]) == 2


def test_deflated_dataset_is_verified_after_inflating(node: Node, tmp_path: Path) -> None:
    import zlib

    raw = file_bytes(source_dataset())
    start = body_offset(raw)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    good = compressor.compress(raw[start:]) + compressor.flush()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    cut = compressor.compress(raw[start:-100]) + compressor.flush()
    sop = dcmread(__import__("io").BytesIO(raw)).SOPInstanceUID
    meta = encode_file_meta(MRImageStorage, sop, "1.2.840.10008.1.2.1.99", "1.2.3", "T", "FUZZ")
    ae = WakingAE(ae_title="FUZZSCU")
    ae.add_requested_context(MRImageStorage, ["1.2.840.10008.1.2.1.99"])
    assoc = ae.associate("127.0.0.1", node.scp.port, ae_title="SPINENODE")
    assert assoc.is_established
    bad_status = assoc.send_c_store(_write(tmp_path, "cut.dcm", meta + cut))
    good_status = assoc.send_c_store(_write(tmp_path, "good.dcm", meta + good))
    assoc.release()
    assert int(bad_status.Status) == 0xC210
    assert int(good_status.Status) == 0
    assert len(node.spool.iter_files()) == 1


_SCP_PROCESS = """
import sys, time
from pathlib import Path
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
scp = StorageSCP(ae_title="SPINENODE", host="127.0.0.1", port=int(sys.argv[2]),
                 spool=Spool(Path(sys.argv[1]), min_free_bytes=0), on_received=lambda item: None,
                 max_inflated_bytes=256 << 20)
scp.start()
print("ready", hwm(), flush=True)
sys.stdin.readline()
print("peak", hwm(), flush=True)
scp.stop()
"""


def test_deflate_bomb_refused_without_inflating_it_into_memory(tmp_path: Path) -> None:
    """408 KB that inflate to 400 MB: refused with 0xA700, the receiver's peak RSS barely moves."""
    import subprocess
    import sys
    import zlib

    ds = source_dataset()
    del ds.PixelData
    head = file_bytes(ds)
    start = body_offset(head)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    size = 400 << 20
    parts = [compressor.compress(head[start:] + b"\xe0\x7f\x10\x00OB\x00\x00" + size.to_bytes(4, "little"))]
    zeros = bytes(1 << 20)
    parts += [compressor.compress(zeros) for _ in range(400)]
    parts.append(compressor.flush())
    bomb = b"".join(parts)
    meta = encode_file_meta(MRImageStorage, ds.SOPInstanceUID, "1.2.840.10008.1.2.1.99", "1.2.3", "T", "FUZZ")
    path = _write(tmp_path, "bomb.dcm", meta + bomb)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCP_PROCESS, str(tmp_path / "spool"), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = proc.stdout.readline().split()
        assert ready[0] == "ready"
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
        ae = WakingAE(ae_title="FUZZSCU")
        ae.add_requested_context(MRImageStorage, ["1.2.840.10008.1.2.1.99"])
        assoc = ae.associate("127.0.0.1", port, ae_title="SPINENODE")
        assert assoc.is_established
        status = assoc.send_c_store(path)
        assoc.release()
        proc.stdin.write("\n")
        proc.stdin.flush()
        peak = proc.stdout.readline().split()
    finally:
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = False
        proc.wait(timeout=30)
    before, after = int(ready[1]), int(peak[1])
    print(f"deflate bomb: {len(bomb) // 1024} KB -> {size >> 20} MB; receiver peak RSS {before} -> {after} MB")
    assert int(status.Status) == 0xA700
    assert after - before < 64
    assert not list((tmp_path / "spool").rglob("*.dcm"))
