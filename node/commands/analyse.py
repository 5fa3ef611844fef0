"""``spinenode analyse PATH [--json] [--seg-dir DIR]``: the inventory, every analyser and the criteria on the
DICOM files under PATH, without a running node, through the pipeline's own steps (workers.pipeline.offline).

Exit status 0 when at least one study was analysed, 2 when none could be. Files that are not DICOM are named
on stderr; files that claim a study but cannot be used are listed under its ``skipped`` key.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pipeline is imported when a study is analysed, not for --help
    from workers.pipeline.offline import StudyFiles


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("analyse", help="analyse the DICOM files under a folder, without a running node")
    p.add_argument("path", help="a DICOM file or a folder (searched recursively)")
    p.add_argument("--json", action="store_true", help="print the analysis output as a JSON list")
    p.add_argument("--seg-dir", type=Path, default=None, help="write one DICOM Segmentation per analysed series here")
    p.set_defaults(run=run)


def collect(root: Path) -> tuple[dict[str, StudyFiles], list[str]]:
    """Files under ``root`` by study and series; the files that claim no study (with why)."""
    from workers.inventory.series import read_header
    from workers.pipeline.offline import StudyFiles

    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    studies: dict[str, StudyFiles] = {}
    unclaimed: list[str] = []
    for path in files:
        ds = read_header(path)
        if ds is None:
            unclaimed.append(f"{path}: not a DICOM file")
            continue
        study_uid = str(ds.get("StudyInstanceUID", "") or "")
        if not study_uid:
            unclaimed.append(f"{path}: no Study Instance UID")
            continue
        study = studies.setdefault(study_uid, StudyFiles(study_uid))
        series_uid = str(ds.get("SeriesInstanceUID", "") or "")
        if not series_uid:
            study.skipped.append({"path": str(path), "reason": "no Series Instance UID"})
            continue
        if "SOPInstanceUID" not in ds:
            study.skipped.append({"path": str(path), "reason": "no SOP Instance UID"})
            continue
        study.series.setdefault(series_uid, []).append(path)
    return studies, unclaimed


def _text(study: dict[str, Any]) -> str:
    lines = [f"study {study['study_uid']}: {len(study['series'])} series"]
    for v in study["qc"]:
        lines.append(f"  {v['analyser']} (series {v['series_uid'][-12:]}): {v['status']} {v['reason']}".rstrip())
    for m in study["measurements"]:
        level = f" at {m['level']}" if m["level"] else ""
        lines.append(f"  {m['name']}{level}: {m['value']:g} {m['unit']}")
    for c in study["candidates"]:
        lines.append(f"  candidate: {c['exam']} {c['kind']} {'-'.join(c.get('levels') or [])}")
    for name, part in (study["criteria"] or {}).items():
        if isinstance(part, dict) and "grade" in part:
            lines.append(f"  {name}: {part['grade']}")
    lines += [f"  segmentation: {s['path']}" for s in study["segmentations"]]
    lines += [f"  error: {e}" for e in study["errors"]]
    lines += [f"  skipped: {s['path']} ({s['reason']})" for s in study.get("skipped", [])]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.exists():
        print(f"spinenode analyse: path does not exist: {str(root)!r}", file=sys.stderr)
        return 2
    quiet = logging.getLogger("workers")
    previous_level = quiet.level
    quiet.setLevel(logging.ERROR)  # the verdicts and notes say in the output what the analysers' warnings say
    try:
        return _analyse(root, args)
    finally:
        quiet.setLevel(previous_level)


def _analyse(root: Path, args: argparse.Namespace) -> int:
    from workers.pipeline.offline import analyse_files

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom and numpy warn about every odd value in real-world files
        studies, unclaimed = collect(root)
        for line in unclaimed:
            print(f"spinenode analyse: skipped {line}", file=sys.stderr)
        results: list[dict[str, Any]] = []
        for study in studies.values():
            if not study.series:
                results.append(
                    {
                        "study_uid": study.study_uid,
                        "series": [],
                        "measurements": [],
                        "candidates": [],
                        "qc": [],
                        "levels": {},
                        "criteria": None,
                        "segmentations": [],
                        "notes": [],
                        "errors": ["no readable series"],
                        "skipped": study.skipped,
                    }
                )
                continue
            results.append(analyse_files(study, seg_dir=args.seg_dir))
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_text(s) for s in results) or "no study found")
    analysed = [s for s in results if s["series"]]
    return 0 if analysed else 2
