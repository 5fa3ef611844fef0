"""``spinenode criteria FILE [--json]``: apply the rule book to a findings document and print the result.

FILE is a JSON findings document (``-`` reads standard input) in UTF-8 (with or without a BOM), UTF-16 or
Shift_JIS/CP932; any encoding but plain UTF-8 is named on standard error. An invalid document prints one
line naming the field and the value on standard error and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from node.commands.common import EXIT_USAGE, CommandError
from node.inputs.text import UTF8, TextEncodingError, decode_text

NAME = "criteria"
EXIT_INVALID = EXIT_USAGE


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(NAME, help="apply the criteria to a findings document and print the result")
    p.add_argument("file", metavar="FILE", help="findings document (JSON); '-' for standard input")
    p.add_argument("--json", action="store_true", help="print the result object as JSON")
    p.add_argument("--study-date", metavar="YYYYMMDD", help="Study Date (0008,0020) for the EBP claim")
    p.add_argument("--institution-name", metavar="NAME", help="Institution Name (0008,0080) for the EBP claim")
    p.set_defaults(run=run)


def _load(path: str) -> object:
    name = "standard input" if path == "-" else path
    if path == "-" and not hasattr(sys.stdin, "buffer"):  # already text (a test's StringIO)
        return json.loads(sys.stdin.read())
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    text, encoding = decode_text(raw, name=name)
    if encoding != UTF8:
        print(f"spinenode criteria: read {name} as {encoding}", file=sys.stderr)
    return json.loads(text)


def run(args: argparse.Namespace) -> int:
    from workers.criteria import FindingsError, StudyContext, evaluate, parse_findings
    from workers.criteria.table import render_table

    try:
        obj = _load(args.file)
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}", EXIT_INVALID) from None
    except TextEncodingError as exc:
        raise CommandError(str(exc), EXIT_INVALID) from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{args.file}: not JSON: {exc}", EXIT_INVALID) from None
    try:
        doc = parse_findings(obj)
        context = None
        if args.study_date is not None or args.institution_name is not None:
            context = StudyContext(study_date=args.study_date, institution_name=args.institution_name)
    except (FindingsError, ValueError) as exc:
        raise CommandError(f"invalid findings document: {exc}", EXIT_INVALID) from None
    result = evaluate(doc, context)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(result))
    return 0
