"""Durable writes: what one received instance costs to be on disk before its success status, per strategy.

Interleaved in one run on the spool's filesystem (``--folder``, default the system temporary folder), each
round writes ``--instances`` payloads of ``--size`` bytes per strategy after an ``os.sync()``:

- ``file fsync + folder fsync`` (the node before its journal): temporary file, fsync, rename, folder fsync;
- ``file fdatasync + folder fsync``: the same with fdatasync;
- ``journal, prepared segment (the node)``: :class:`node.dicom.journal.Journal` append (one fdatasync,
  no folder sync) plus the instance file renamed into place unsynced, as :meth:`node.dicom.spool.Spool.store`
  does with one, into a spare segment written out before the round (as the SCP prepares one at start);
- ``journal, growing segment``: the same into a new segment that grows with each record (the journal
  before its segments were written out ahead: each fdatasync also commits the file's new size);
- ``file fdatasync, no folder sync`` and ``no sync``: references only, not durable (a crash can lose the
  rename, or everything).

    python benchmarks/durable_writes.py [--instances 100] [--size 525000] [--rounds 3]

Prints ms per instance (median of the rounds) and the load average. Not a test: read the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from node.dicom.journal import Checkpointer, Journal, fsync_dir

Strategy = Callable[[Path, int, bytes], None]


def _file(path: Path, payload: bytes, sync: Callable[[int], None] | None) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, payload)
        if sync is not None:
            sync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--size", type=int, default=525_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    payload = os.urandom(args.size)
    root = Path(tempfile.mkdtemp(prefix="spinenode-durable-", dir=args.folder))
    checkpointer = Checkpointer()
    journals: dict[Path, Journal] = {}

    def journaled(folder: Path, i: int, data: bytes) -> None:
        journal = journals[folder]
        path = folder / f"{i}.dcm"
        journal.append(path.name, [data])
        _file(path, data, None)
        journal.written(path)

    def fsynced(folder: Path, i: int, data: bytes) -> None:
        _file(folder / f"{i}.dcm", data, os.fsync)
        fsync_dir(folder)

    def fdatasynced(folder: Path, i: int, data: bytes) -> None:
        _file(folder / f"{i}.dcm", data, os.fdatasync)
        fsync_dir(folder)

    strategies: dict[str, Strategy] = {
        "file fsync + folder fsync": fsynced,
        "file fdatasync + folder fsync": fdatasynced,
        "journal, prepared segment (the node)": journaled,
        "journal, growing segment": journaled,
        "file fdatasync, no folder sync": lambda d, i, b: _file(d / f"{i}.dcm", b, os.fdatasync),
        "no sync": lambda d, i, b: _file(d / f"{i}.dcm", b, None),
    }
    results: dict[str, list[float]] = {name: [] for name in strategies}
    load_before = os.getloadavg()
    try:
        for rnd in range(args.rounds):
            names = list(strategies)
            names = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in names:
                folder = root / f"{rnd}-{len(results[name])}-{names.index(name)}"
                folder.mkdir()
                if name.startswith("journal"):
                    journal = journals[folder] = Journal(folder / ".journal", checkpointer)
                    if "prepared" in name:
                        checkpointer.prepare(folder / ".journal")
                        checkpointer.join()
                    # One small record first, untimed: the segment is taken (a spare, or a new one, and then
                    # a spare written out in the background, waited for here).
                    journal.append("first", [b"x"])
                    checkpointer.join()
                os.sync()
                started = time.perf_counter()
                for i in range(args.instances):
                    strategies[name](folder, i, payload)
                results[name].append((time.perf_counter() - started) / args.instances * 1000)
                journal = journals.pop(folder, None)
                if journal is not None:  # the checkpoint runs after the timing, as after an association
                    journal.close()
                    checkpointer.join()
                    checkpointer.drop_spares()
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"{args.instances} instances of {args.size} bytes in {args.folder}, median of {args.rounds} rounds")
    print("load average before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    for name, values in results.items():
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:38} {statistics.median(values):7.2f} ms/instance  (rounds {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
