"""``spinenode criteria FILE [--json]``: apply the rule book to a findings document and print the result.

FILE is a JSON findings document (``-`` reads standard input). An invalid document prints a message
naming the field and the value on standard error and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workers.criteria import FindingsError, StudyContext, evaluate, parse_findings
from workers.criteria.table import render_table

NAME = "criteria"
EXIT_INVALID = 2


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(NAME, help="apply the criteria to a findings document and print the result")
    p.add_argument("file", metavar="FILE", help="findings document (JSON); '-' for standard input")
    p.add_argument("--json", action="store_true", help="print the result object as JSON")
    p.add_argument("--study-date", metavar="YYYYMMDD", help="Study Date (0008,0020) for the EBP claim")
    p.add_argument("--institution-name", metavar="NAME", help="Institution Name (0008,0080) for the EBP claim")
    p.set_defaults(run=run)


def _load(path: str) -> object:
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def run(args: argparse.Namespace) -> int:
    try:
        obj = _load(args.file)
    except OSError as exc:
        print(f"spinenode criteria: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    except json.JSONDecodeError as exc:
        print(f"spinenode criteria: {args.file}: not JSON: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        doc = parse_findings(obj)
        context = None
        if args.study_date is not None or args.institution_name is not None:
            context = StudyContext(study_date=args.study_date, institution_name=args.institution_name)
    except (FindingsError, ValueError) as exc:
        print(f"spinenode criteria: invalid findings document: {exc}", file=sys.stderr)
        return EXIT_INVALID
    result = evaluate(doc, context)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(result))
    return 0
