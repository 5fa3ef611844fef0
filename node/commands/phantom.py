"""``spinenode phantom OUTDIR --scenario NAME``: write a synthetic spine study (MR, NM or CT) with known truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workers.phantom import SCENARIOS, write_phantom


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("phantom", help="write a synthetic study with known ground truth")
    p.add_argument("outdir", type=Path, help="folder to write the DICOM files and truth.json into")
    p.add_argument("--scenario", default="simple", choices=sorted(SCENARIOS), help="which phantom")
    p.add_argument("--seed", type=int, default=0, help="seed of the pixel noise (and of UIDs, see below)")
    p.add_argument(
        "--deterministic-uids",
        action="store_true",
        help="derive UIDs from scenario and seed (default: fresh UIDs on every run)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    study = write_phantom(args.outdir, args.scenario, seed=args.seed, deterministic_uids=args.deterministic_uids)
    print(f"wrote {len(study.files)} files of scenario {args.scenario!r} to {study.outdir}")
    print(f"study {study.study_instance_uid}; truth in {study.truth_path}")
    return 0
