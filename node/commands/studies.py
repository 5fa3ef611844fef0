"""``spinenode studies [--json]``: list studies, states, flags, grades and deliveries."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from node.commands.common import EXIT_FAILED, CommandError, add_config_option, settings_or_exit

if TYPE_CHECKING:
    from node.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("studies", help="list studies with states, flags and grades")
    add_config_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--workers", action="store_true", help="only the workers seen and the work waiting for them")
    p.set_defaults(run=run)


def format_table(rows: list[dict]) -> str:
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


def describe_registry(settings: Settings, config: str | None) -> str:
    """Which registry a command reads, and where that choice came from, in one line."""
    from node.registry.dbapi import hide_password

    origin = f"settings {config}" if config else "the defaults (no --config, no SPINENODE_CONFIG)"
    return f"registry {hide_password(settings.database_url)} (data folder {settings.data_dir}, from {origin})"


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)  # all of them: an unknown key is an error here too
    config = args.config or os.environ.get("SPINENODE_CONFIG")
    where = describe_registry(settings, config)
    from node.registry.dbapi import reading, sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not Path(path).is_file():
        raise CommandError(
            f"no registry here: {path} does not exist ({where}); "
            "give the node's settings with --config FILE or SPINENODE_CONFIG",
            EXIT_FAILED,
        )
    print(f"spinenode studies: {where}", file=sys.stderr)
    from node.registry.clock import utcnow
    from node.registry.listing import format_workers, list_studies, queue_waiting, workers_seen

    now = utcnow()
    with reading(settings.database_url) as connection:
        rows = [] if args.workers else list_studies(connection)
        seen = workers_seen(connection, now)
        waiting = queue_waiting(connection, now)
    if args.workers and args.json:
        print(json.dumps({"workers": [w.as_dict() for w in seen], "waiting": waiting}, indent=2))
    elif args.workers:
        print(format_workers(seen, waiting))
    elif args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows) + "\n\n" + format_workers(seen, waiting))
    return 0
