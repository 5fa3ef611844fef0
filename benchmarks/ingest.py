"""Ingest throughput: DCMTK storescu sends the same study to DCMTK storescp, Orthanc and spinenode.

Side by side in one run, interleaved (the machine is noisy), in two modes: storescu as shipped (Nagle on)
and with ``TCP_NODELAY=1`` for the DCMTK processes (storescu, storescp, Orthanc). spinenode always sets
TCP_NODELAY and re-arms TCP_QUICKACK on its own sockets, and fsyncs every instance before answering.
Each round sends a fresh copy of the study (new UIDs) to every receiver, so no receiver sees duplicates;
the page cache is synced before each send so that no receiver pays for another's writeback.

    python benchmarks/ingest.py [--images 400] [--rounds 3]

Prints images/s per receiver and mode (median of the rounds) and the ratios the node is held to.
Not a test: nothing here asserts; read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port}")


def make_study(folder: Path, images: int, seed: int) -> None:
    """``images`` MR images of 512x512 uint16 (about 525 KB each), one series."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4000, (512, 512), dtype=np.uint16).tobytes()
    study, series = generate_uid(), generate_uid()
    for i in range(images):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.PatientName, ds.PatientID, ds.StudyDate = "MR", "BENCH^MARK", "B1", "20260101"
        ds.SeriesNumber, ds.InstanceNumber = 1, i + 1
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.PixelData = pixels
        ds.save_as(folder / f"{i:04d}.dcm", enforce_file_format=True)


class Receiver:
    name = ""
    aet = ""
    port = 0
    folder = ""  # what the receiver writes under root, removed when it stops

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None: ...

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.root / self.folder, ignore_errors=True)


class StoreSCP(Receiver):
    name, aet = "DCMTK storescp", "STORESCP"
    folder = "storescp"

    def start(self, env: dict[str, str]) -> None:
        self.port = free_port()
        out = self.root / "storescp"
        out.mkdir(parents=True, exist_ok=True)
        # -B: write the bytes received (bit-preserving), like the node; -pdu as measured in performance.md
        self.proc = subprocess.Popen(
            ["/usr/bin/storescp", "-B", "-pdu", "131072", "-od", str(out), str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)


class OrthancReceiver(Receiver):
    name, aet = "Orthanc", "ORTHANC"
    folder = "orthanc"

    def start(self, env: dict[str, str]) -> None:
        self.port, http = free_port(), free_port()
        store = self.root / "orthanc"
        cfg = {
            "Name": "bench",
            "StorageDirectory": str(store),
            "IndexDirectory": str(store),
            "DicomAet": "ORTHANC",
            "DicomPort": self.port,
            "HttpPort": http,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False,
            "Plugins": [],
            "StorageCompression": False,
        }
        path = self.root / "orthanc.json"
        path.write_text(json.dumps(cfg))
        self.proc = subprocess.Popen(
            ["/usr/sbin/Orthanc", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        wait_port(http)


class Node(Receiver):
    name, aet = "spinenode", "SPINENODE"
    folder = "node"

    def start(self, env: dict[str, str]) -> None:
        self.port = free_port()
        data = self.root / "node"
        cfg = self.root / "node.toml"
        cfg.write_text(
            f'[node]\nport = {self.port}\ndata_dir = "{data}"\nstable_seconds = 36000.0\n'
            f"min_free_bytes = 0\n[web]\nport = {free_port()}\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node", "serve", "--no-web", "--no-worker", "--config", str(cfg)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)


def send(folder: Path, receiver: Receiver, env: dict[str, str]) -> float:
    files = sorted(str(p) for p in folder.iterdir())
    # Start every measurement with no dirty pages left by the previous receiver: with ext4's ordered mode
    # an fsync (the node's, Orthanc's) otherwise pays for another process's writeback.
    os.sync()
    started = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/storescu", "-aec", receiver.aet, "127.0.0.1", str(receiver.port), *files],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"storescu to {receiver.name} failed: {out.stderr[-500:]}")
    return len(files) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="spinenode-bench-"))
    results: dict[tuple[str, str], list[float]] = {}
    try:
        for mode in ("as shipped", "TCP_NODELAY=1"):
            env = dict(os.environ)
            env.pop("TCP_NODELAY", None)
            if mode != "as shipped":
                env["TCP_NODELAY"] = "1"
            receivers: list[Receiver] = [StoreSCP(root), OrthancReceiver(root), Node(root)]
            for r in receivers:
                r.start(env)
            try:
                for rnd in range(args.rounds):
                    study = root / f"study-{rnd}"
                    make_study(study, args.images, rnd)
                    order = receivers[rnd % 3 :] + receivers[: rnd % 3]  # interleave
                    for r in order:
                        rate = send(study, r, env)
                        results.setdefault((mode, r.name), []).append(rate)
                        print(f"  {mode:14} round {rnd + 1}: {r.name:15} {rate:7.1f} images/s", flush=True)
                    shutil.rmtree(study)
            finally:
                for r in receivers:
                    r.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.images} MR images 512x512 (~525 KB each), median of {args.rounds} interleaved rounds")
    print(f"{'receiver':16} {'as shipped':>12} {'TCP_NODELAY=1':>14}")
    med = {k: statistics.median(v) for k, v in results.items()}
    for name in ("DCMTK storescp", "Orthanc", "spinenode"):
        print(f"{name:16} {med[('as shipped', name)]:12.1f} {med[('TCP_NODELAY=1', name)]:14.1f}")
    shipped = med[("as shipped", "spinenode")] / med[("as shipped", "DCMTK storescp")]
    nodelay = med[("TCP_NODELAY=1", "spinenode")] / med[("TCP_NODELAY=1", "Orthanc")]
    print(f"\nas shipped:    spinenode / storescp = {shipped:.2f}x  (target >= 5x, aim 8x)")
    print(f"TCP_NODELAY=1: spinenode / Orthanc  = {nodelay:.2f}x  (target >= 0.9x, aim 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
