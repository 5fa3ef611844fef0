"""``spinenode audit [--since WHEN] [--json | --syslog]``: the audit trail."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from node.commands.common import add_config_option, settings_or_exit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="print the audit trail (sign-ins, PHI views, findings, associations)")
    add_config_option(p)
    p.add_argument("--since", help="ISO date or time (UTC), or a duration such as 2h, 7d")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON")
    form.add_argument("--syslog", action="store_true", help="print RFC 5424 syslog lines")
    p.set_defaults(run=run)


def parse_since(value: str) -> datetime:
    units = {"m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError:
        print(f"spinenode: --since: not a date, time or duration: {args.since!r}", file=sys.stderr)
        return 2
    from node.audit.trail import as_dict, events, syslog_line
    from node.registry.db import Registry

    registry = Registry(settings.database_url)
    try:
        with registry.session() as session:
            rows = events(session, since)
            if args.json:
                print(json.dumps([as_dict(e) for e in rows], indent=2))
            elif args.syslog:
                for e in rows:
                    print(syslog_line(e))
            else:
                for e in rows:
                    d = as_dict(e)
                    where = " ".join(x for x in (d["peer"] or "", d["study_uid"] or "") if x)
                    extra = ", ".join(f"{k}={v}" for k, v in d["detail"].items())
                    print(f"{d['at']}  {d['action']:<18} {d['outcome']:<8} {d['actor']:<24} {where}  {extra}")
    finally:
        registry.dispose()
    return 0
