"""``spinenode phantom OUTDIR --scenario NAME``: write a synthetic spine study (MR, NM or CT) with known truth."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _ScenarioNames:
    """The scenario names as argparse choices, read from :mod:`workers.phantom` only when argparse asks (a
    value to check, a help page to print): ``spinenode --help`` does not import the phantom writers. (The
    option has a metavar, else argparse would list the choices as soon as the option is added.)"""

    def _names(self) -> list[str]:
        from workers.phantom import SCENARIOS

        return sorted(SCENARIOS)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("phantom", help="write a synthetic study with known ground truth")
    p.add_argument("outdir", type=Path, help="folder to write the DICOM files and truth.json into")
    p.add_argument(
        "--scenario", default="simple", choices=_ScenarioNames(), metavar="NAME", help="which phantom: %(choices)s"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the pixel noise (and of UIDs, see below)")
    p.add_argument(
        "--deterministic-uids",
        action="store_true",
        help="derive UIDs from scenario and seed (default: fresh UIDs on every run)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from workers.phantom import write_phantom

    study = write_phantom(args.outdir, args.scenario, seed=args.seed, deterministic_uids=args.deterministic_uids)
    print(f"wrote {len(study.files)} files of scenario {args.scenario!r} to {study.outdir}")
    print(f"study {study.study_instance_uid}; truth in {study.truth_path}")
    return 0
