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
    from node.commands.analyse_text import study_text
    from workers.pipeline.offline import analysis_output, findings_of, run_steps
    from workers.results.findings import FindingsReport

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom and numpy warn about every odd value in real-world files
        studies, unclaimed = collect(root)
        for line in unclaimed:
            print(f"spinenode analyse: skipped {line}", file=sys.stderr)
        results: list[dict[str, Any]] = []
        reports: list[FindingsReport | None] = []
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
                reports.append(None)
                continue
            ctx = run_steps(study)
            results.append(analysis_output(ctx, study, seg_dir=args.seg_dir))
            reports.append(findings_of(ctx))
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print("\n".join(study_text(s, r) for s, r in zip(results, reports, strict=True)) or "no study found")
    analysed = [s for s in results if s["series"]]
    return 0 if analysed else 2
