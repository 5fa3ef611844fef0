"""``spinenode studies [--json]``: list studies, states, flags, grades and deliveries."""

from __future__ import annotations

import argparse
import json

from node.commands.common import add_config_option, settings_or_exit


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("studies", help="list studies with states, flags and grades")
    add_config_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--workers", action="store_true", help="only the workers seen and the work waiting for them")
    p.set_defaults(run=run)


def format_table(rows: list[dict]) -> str:  # type: ignore[type-arg]
    if not rows:
        return "no studies"
    lines = [f"{'state':<10} {'rev':>3} {'ser':>3} {'inst':>5} {'date':<8}  {'grades / flags':<40} deliveries  study"]
    for r in rows:
        grades = ", ".join(f"{k}={v}" for k, v in r["grades"].items() if v not in (None, "NONE", False))
        flags = "; ".join(r["flags"])
        summary = (flags or grades or "-")[:40]
        deliveries = ",".join(f"{d['destination']}:{d['state']}" for d in r["deliveries"]) or "-"
        lines.append(
            f"{r['state']:<10} {r['revision']:>3} {r['series']:>3} {r['instances']:>5} {r['study_date'] or '':<8}  "
            f"{summary:<40} {deliveries}  {r['study_uid']}"
        )
        if r["reason"]:
            lines.append(f"{'':<10} reason: {r['reason']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    from node.registry.db import Registry
    from node.studies import list_studies
    from node.workers_seen import format_workers, queue_waiting, workers_seen

    registry = Registry(settings.database_url)
    with registry.session() as session:
        rows = [] if args.workers else list_studies(session)
        seen = workers_seen(session)
        waiting = queue_waiting(session)
    if args.workers and args.json:
        print(json.dumps({"workers": [w.as_dict() for w in seen], "waiting": waiting}, indent=2))
    elif args.workers:
        print(format_workers(seen, waiting))
    elif args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows) + "\n\n" + format_workers(seen, waiting))
    return 0
