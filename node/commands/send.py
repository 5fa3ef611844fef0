"""``spinenode send PATH... --to AET@HOST:PORT``: C-STORE files or folders (a small storescu)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("send", help="send DICOM files or folders to a peer")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--to", required=True, metavar="AET@HOST:PORT")
    p.add_argument("--aet", default="SPINENODE", help="calling AE title")
    p.set_defaults(run=run)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        print(f"\rsent {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from node.dicom.scu import AssociationFailed, collect_files, parse_destination, send_files

    try:
        ae_title, host, port = parse_destination(args.to)
        files = collect_files(args.paths)
    except (ValueError, FileNotFoundError) as exc:
        print(f"spinenode send: {exc}", file=sys.stderr)
        return 2
    readable = []
    for f in files:
        try:
            from pydicom import dcmread

            dcmread(f, stop_before_pixels=True, specific_tags=["SOPClassUID"]).SOPClassUID  # noqa: B018
            readable.append(f)
        except Exception:
            print(f"skipped (not DICOM): {f}", file=sys.stderr)
    if not readable:
        print("spinenode send: no DICOM files found", file=sys.stderr)
        return 2
    try:
        outcomes = send_files(readable, ae_title, host, port, calling_aet=args.aet, progress=_progress)
    except AssociationFailed as exc:
        print(f"spinenode send: {exc}", file=sys.stderr)
        return 1
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        status = f"0x{o.status:04X}" if o.status is not None else o.detail
        print(f"failed: {o.path}: {status}", file=sys.stderr)
    print(f"{len(outcomes) - len(failed)} stored, {len(failed)} failed")
    return 1 if failed else 0
