"""``spinenode inventory PATH [--json]``: classify every series under a folder of DICOM files."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

from workers.inventory import SeriesInventory, inventory_path

_COLUMNS = (
    ("series_number", "#", 5),
    ("modality", "mod", 3),
    ("sequence", "sequence", 9),
    ("plane", "plane", 8),
    ("slice_thickness_mm", "thick", 5),
    ("fat_suppressed", "FS", 3),
    ("contrast", "+C", 3),
    ("b_values", "b-values", 14),
    ("region", "region", 16),
    ("images", "images", 6),
    ("description", "description", 0),
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("inventory", help="classify every series under a folder of DICOM files")
    p.add_argument("path", help="a DICOM file or a folder (searched recursively; non-DICOM files are skipped)")
    p.add_argument("--json", action="store_true", help="print the inventory as a JSON list")
    p.set_defaults(run=run)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "/".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in value) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_table(series: list[SeriesInventory]) -> str:
    """A fixed-width table, one row per series, unsafe geometry marked with '!'."""
    header = "  ".join(title.ljust(width) if width else title for _, title, width in _COLUMNS)
    rows = [header]
    for s in series:
        data = s.to_json()
        cells = [_cell(data[key]).ljust(width) if width else _cell(data[key]) for key, _, width in _COLUMNS]
        mark = " !geometry: " + "; ".join(s.geometry_issues) if s.unsafe_geometry else ""
        rows.append("  ".join(cells) + mark)
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    progress = None
    if sys.stderr.isatty():

        def progress(count: int) -> None:
            print(f"\r{count} files read", end="", file=sys.stderr, flush=True)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about every odd value in real-world files
            series = inventory_path(args.path, progress=progress)
    except FileNotFoundError as exc:
        print(f"spinenode inventory: {exc}", file=sys.stderr)
        return 2
    if progress is not None:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps([s.to_json() for s in series], indent=2, ensure_ascii=False))
    else:
        print(format_table(series))
    return 0
