"""kill -9 of a storage SCP process whose association writes into a reused journal segment: after recovery,
every acknowledged instance is whole, and nothing the segment held from its earlier use comes back."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from peers import free_port
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from node.dicom import journal
from node.dicom.spool import Spool

SERVE = """
import sys, threading
from pathlib import Path
from node.dicom.scp import StorageSCP
from node.dicom.spool import Spool
scp = StorageSCP(ae_title="SPINENODE", host="127.0.0.1", port=int(sys.argv[2]), spool=Spool(Path(sys.argv[1])),
                 on_received=lambda item: None)
scp.start()
print("ready", flush=True)
threading.Event().wait()
"""


def _uid() -> str:
    """UIDs of one length: every record is as long as the others, so the second use's last record ends where
    a record of the first use starts (the case where an older record could be taken for a current one)."""
    return f"2.25.{random.randrange(10**37, 10**38)}"


def _dataset(study: str, series: str, number: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = _uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.Modality, ds.PatientName, ds.PatientID = "MR", "TEST^CRASH", "CRASH1"
    ds.InstanceNumber = number
    ds.Rows = ds.Columns = 64
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = np.full(64 * 64, number, dtype=np.uint16).tobytes()
    return ds


def _study(count: int) -> list[Dataset]:
    study, series = _uid(), _uid()
    return [_dataset(study, series, i + 1) for i in range(count)]


def _wait(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _segments(spool: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((spool / ".journal").glob("*.seg"))]


def test_kill9_with_a_reused_segment_keeps_what_was_acknowledged_and_nothing_retired(tmp_path: Path) -> None:
    root, port = tmp_path / "spool", free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(root), str(port)], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        _wait(lambda: [len(d) for d in _segments(root)] == [journal.SPARE_BYTES], "the spare segment")
        ae = AE(ae_title="CRASHSCU")
        ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
        first, second = _study(6), _study(3)
        assoc = ae.associate("127.0.0.1", port, ae_title="SPINENODE")
        assert [int(assoc.send_c_store(ds).Status) for ds in first] == [0] * 6
        assoc.release()
        # The first association's records, checkpointed: the segment is emptied (next generation) and kept.
        emptied = journal.SEGMENT_MAGIC + (2).to_bytes(8, "little")
        _wait(lambda: any(d.startswith(emptied) for d in _segments(root)), "the emptied segment")
        assoc = ae.associate("127.0.0.1", port, ae_title="SPINENODE")
        assert [int(assoc.send_c_store(ds).Status) for ds in second] == [0] * 3
        server.send_signal(signal.SIGKILL)  # with the association open: its segment never checkpointed
        server.wait(timeout=10)
        assoc.abort()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    spool = Spool(root)

    def path(ds: Dataset) -> Path:
        return spool.path_for(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)

    # Power lost too: the second association's files were never synced (only their records were).
    for ds in second:
        path(ds).unlink()
    path(first[4]).unlink()  # retention removed it; its old record is in the segment, behind the new ones
    assert sorted(spool.iter_files()) == sorted(path(ds) for ds in first + second if ds is not first[4])
    for ds in second:
        got = dcmread(path(ds))
        assert got.SOPInstanceUID == ds.SOPInstanceUID and got.PixelData == ds.PixelData
