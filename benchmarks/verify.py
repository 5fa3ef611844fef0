"""Cost of verifying a received dataset whole before it is acknowledged (node.dicom.verify).

Per image, on the ingest benchmark's images (MR, 512×512, explicit VR little endian) and on every DICOM
file under shared/data/dicom, against the reference in the same run: the header read the SCP did before
(fastheader.read_attributes, which stopped after the attributes it needs) and the time the node spends per
image at its measured ingest rate.

    python benchmarks/verify.py [--repeat 2000]

Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from node.dicom.fastheader import FastHeaderError, read_attributes
from node.dicom.verify import NATIVE_SYNTAXES, DatasetError, verify_received

_ROOT = Path(__file__).resolve().parents[1]
DATA = next((p / "shared" / "data" / "dicom" for p in _ROOT.parents if (p / "shared").is_dir()), _ROOT)
NODE_IMAGES_PER_SECOND = 167.2  # README, ingest benchmark as shipped


def mr_image() -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "MR", "BENCH^INGEST", "B1"
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = np.zeros((512, 512), np.uint16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def body(raw: bytes) -> tuple[bytes, str]:
    f = io.BytesIO(raw)
    f.seek(132)
    meta = _read_file_meta_info(f)
    return raw[f.tell() :], str(meta.TransferSyntaxUID)


def per_call(fn: object, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    data, ts = body(mr_image())
    old = per_call(lambda: read_attributes(data, ts), args.repeat)
    new = per_call(lambda: verify_received(data, ts, max_inflated=1 << 30, encapsulated=False), args.repeat)
    budget = 1.0 / NODE_IMAGES_PER_SECOND
    print(f"MR 512x512: header read {old * 1e6:.1f} µs, whole-dataset verify {new * 1e6:.1f} µs per image")
    share = new / budget * 100
    print(f"  verify = {share:.2f} % of the node's {budget * 1e3:.1f} ms per image at {NODE_IMAGES_PER_SECOND}/s")
    rows = []
    for path in sorted(DATA.rglob("*")):
        raw = path.read_bytes() if path.is_file() else b""
        if raw[128:132] != b"DICM":
            continue
        data, ts = body(raw)
        if ts == "1.2.840.10008.1.2.2":  # big endian: retired, the node does not accept it
            continue
        encapsulated = ts not in NATIVE_SYNTAXES
        try:
            t_old = per_call(lambda d=data, t=ts: read_attributes(d, t), 20)
        except FastHeaderError:
            t_old = float("nan")
        try:
            t_new = per_call(
                lambda d=data, t=ts, e=encapsulated: verify_received(d, t, max_inflated=1 << 30, encapsulated=e), 20
            )
        except DatasetError as exc:
            print(f"  refused {path.relative_to(DATA)}: {exc}")
            continue
        rows.append((t_old, t_new, len(raw)))
    if rows:
        olds = [r[0] for r in rows if r[0] == r[0]]
        news = [r[1] for r in rows]
        print(
            f"{len(rows)} real multi-vendor files: header read median {sorted(olds)[len(olds) // 2] * 1e6:.1f} µs, "
            f"verify median {sorted(news)[len(news) // 2] * 1e6:.1f} µs, max {max(news) * 1e6:.1f} µs"
        )


if __name__ == "__main__":
    main()
