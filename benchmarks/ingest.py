"""Ingest throughput: DCMTK storescu sends the same study to DCMTK storescp, Orthanc and spinenode.

Side by side in one run, interleaved (the machine is noisy), in two modes: storescu as shipped (Nagle on)
and with ``TCP_NODELAY=1`` for the DCMTK processes (storescu, storescp, Orthanc). spinenode always sets
TCP_NODELAY and re-arms TCP_QUICKACK on its own sockets, and fsyncs every instance before answering.
Each round sends a fresh copy of the study (new UIDs) to every receiver, so no receiver sees duplicates;
the page cache is synced before each send so that no receiver pays for another's writeback.

    python benchmarks/ingest.py [--images 400] [--rounds 3] [--modes both|nodelay|shipped] [--before TREE]

Prints images/s and CPU ms per image (the receiver process's user + system time over the send) per
receiver and mode (median of the rounds), the ratios the node is held to (median of the per-round ratios:
receivers of one round are measured seconds apart, so a round's ratio is less noisy than a ratio of
medians), and the load average before and after. ``--before TREE`` adds the node run from another source
tree (e.g. ``git archive`` of an older commit) as a fourth receiver, for a before/after in the same run.
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

    def cpu_seconds(self) -> float:
        """User + system CPU time of the receiver process so far (all its threads)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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

    def __init__(self, root: Path, tree: Path | None = None) -> None:
        super().__init__(root)
        self.tree = tree
        if tree is not None:
            self.name, self.folder = "spinenode before", "node-before"

    def start(self, env: dict[str, str]) -> None:
        self.port = free_port()
        data = self.root / self.folder
        cfg = self.root / f"{self.folder}.toml"
        if self.tree is not None:
            env = {**env, "PYTHONPATH": str(self.tree)}
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


def send(folder: Path, receiver: Receiver, env: dict[str, str]) -> tuple[float, float]:
    """(images/s, receiver CPU ms per image)."""
    files = sorted(str(p) for p in folder.iterdir())
    # Start every measurement with no dirty pages left by the previous receiver: with ext4's ordered mode
    # an fsync (the node's, Orthanc's) otherwise pays for another process's writeback.
    os.sync()
    cpu = receiver.cpu_seconds()
    started = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/storescu", "-aec", receiver.aet, "127.0.0.1", str(receiver.port), *files],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    cpu = receiver.cpu_seconds() - cpu
    if out.returncode != 0:
        raise RuntimeError(f"storescu to {receiver.name} failed: {out.stderr[-500:]}")
    return len(files) / elapsed, cpu / len(files) * 1000


MODES = {"shipped": ("as shipped",), "nodelay": ("TCP_NODELAY=1",), "both": ("as shipped", "TCP_NODELAY=1")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", choices=sorted(MODES), default="both")
    parser.add_argument("--before", type=Path, help="source tree of an earlier node, measured alongside")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="spinenode-bench-"))
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    load_before = os.getloadavg()
    try:
        for mode in MODES[args.modes]:
            env = dict(os.environ)
            env.pop("TCP_NODELAY", None)
            if mode != "as shipped":
                env["TCP_NODELAY"] = "1"
            receivers: list[Receiver] = [StoreSCP(root), OrthancReceiver(root), Node(root)]
            if args.before is not None:
                receivers.append(Node(root, args.before.resolve()))
            for r in receivers:
                r.start(env)
            try:
                for rnd in range(args.rounds):
                    study = root / f"study-{rnd}"
                    make_study(study, args.images, rnd)
                    shift = rnd % len(receivers)
                    for r in receivers[shift:] + receivers[:shift]:  # interleave
                        rate, ms = send(study, r, env)
                        rates.setdefault((mode, r.name), []).append(rate)
                        cpu.setdefault((mode, r.name), []).append(ms)
                        print(f"  {mode:14} round {rnd + 1}: {r.name:16} {rate:7.1f} images/s {ms:6.2f} ms CPU/image")
                    shutil.rmtree(study)
            finally:
                for r in receivers:
                    r.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()
    names = ["DCMTK storescp", "Orthanc", "spinenode"] + (["spinenode before"] if args.before else [])
    modes = MODES[args.modes]
    print(f"\n{args.images} MR images 512x512 (~525 KB each), median of {args.rounds} interleaved rounds")
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    print(f"{'receiver':18}" + "".join(f"{m + ' images/s':>26}{'CPU ms/image':>14}" for m in modes))
    for name in names:
        row = "".join(
            f"{statistics.median(rates[(m, name)]):26.1f}{statistics.median(cpu[(m, name)]):14.2f}" for m in modes
        )
        print(f"{name:18}{row}")
    print()
    for mode, versus, target in (("as shipped", "DCMTK storescp", 10.0), ("TCP_NODELAY=1", "Orthanc", 1.5)):
        if mode not in modes:
            continue
        for name in names[2:]:
            per_round = [a / b for a, b in zip(rates[(mode, name)], rates[(mode, versus)], strict=True)]
            print(
                f"{mode:14} {name} / {versus} = {statistics.median(per_round):.2f}x "
                f"(rounds {min(per_round):.2f}-{max(per_round):.2f}x; target >= {target:g}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
