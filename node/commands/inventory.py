"""``spinenode inventory PATH [--json]``: classify every series under a folder of DICOM files."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.commands.common import EXIT_FAILED, EXIT_USAGE, CommandError

if TYPE_CHECKING:  # the inventory code is imported when a folder is read, not for --help
    from workers.inventory import SeriesInventory

SKIPPED_LISTED = 20  # files named one by one on standard error; the rest are counted

_COLUMNS: tuple[tuple[str, str, int], ...] = (
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


def format_table(
    series: list[SeriesInventory], folders: dict[str, Path] | None = None, root: Path | None = None
) -> str:
    """A fixed-width table, one row per series, unsafe geometry marked with '!'.

    With several studies each row starts with a short study number (the studies are listed under the
    table with their UIDs); with ``folders`` each row ends with the series' folder relative to ``root``.
    """
    studies = list(dict.fromkeys(s.study_uid or "?" for s in series))
    several = len(studies) > 1
    titles = ["study".ljust(5)] * several + [title.ljust(width) if width else title for _, title, width in _COLUMNS]
    header = "  ".join(titles)
    rows = [header + ("  folder" if folders else "")]
    for s in series:
        data = s.to_json()
        cells = [str(studies.index(s.study_uid or "?") + 1).ljust(5)] if several else []
        cells += [_cell(data[key]).ljust(width) if width else _cell(data[key]) for key, _, width in _COLUMNS]
        if folders and s.series_uid in folders:
            cells.append(_relative(folders[s.series_uid], root))
        mark = " !geometry: " + "; ".join(s.geometry_issues) if s.unsafe_geometry else ""
        rows.append("  ".join(cells) + mark)
    if several:
        rows.append("")
        rows += [f"study {n}: {uid}" for n, uid in enumerate(studies, 1)]
    return "\n".join(rows)


def _relative(folder: Path, root: Path | None) -> str:
    if root is None:
        return str(folder)
    base = root if root.is_dir() else root.parent
    try:
        return str(folder.relative_to(base)) or "."
    except ValueError:
        return str(folder)


def run(args: argparse.Namespace) -> int:
    from workers.inventory import inventory_path

    progress = None
    if sys.stderr.isatty():

        def progress(count: int) -> None:
            print(f"\r{count} files read", end="", file=sys.stderr, flush=True)

    skipped: list[tuple[Path, str]] = []
    folders: dict[str, Path] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about every odd value in real-world files
            series = inventory_path(args.path, progress=progress, skipped=skipped, folders=folders)
    except FileNotFoundError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if progress is not None:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps([s.to_json() for s in series], indent=2, ensure_ascii=False))
    elif series:
        print(format_table(series, folders, Path(args.path)))
    for path, reason in skipped[:SKIPPED_LISTED]:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if len(skipped) > SKIPPED_LISTED:
        print(f"skipped: … and {len(skipped) - SKIPPED_LISTED} more", file=sys.stderr)
    read = sum(s.images for s in series)
    summary = f"{len(series)} series in {read} files; {len(skipped)} files skipped"
    if not series:
        raise CommandError(f"no DICOM series found under {args.path} ({len(skipped)} files skipped)", EXIT_FAILED)
    print(f"spinenode inventory: {summary}", file=sys.stderr)
    return 0
