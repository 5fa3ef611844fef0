"""``spinenode route PATH --dry-run``: show what the routing rules would do with the DICOM under PATH."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the rules and the DICOM reader are imported when a study is routed, not for --help
    from node.routing import RuleSet


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("route", help="show what the routing rules would do with a study (dry run)")
    p.add_argument("path", type=Path, help="a DICOM file or a folder of DICOM files (headers are read)")
    p.add_argument("--dry-run", action="store_true", help="evaluate and print; nothing is sent")
    p.add_argument("--rules", type=Path, help="rules file (.toml or .json); default: the settings' [routing]")
    p.add_argument("--config", help="settings file (destinations, [routing])")
    p.add_argument("--calling-aet", default="", help="calling AE title to assume")
    p.add_argument("--called-aet", default="", help="called AE title to assume (default: the node's)")
    p.add_argument("--findings", type=Path, help="findings or criteria result JSON: also run the results phase")
    p.add_argument("--json", action="store_true", help="print the decisions as JSON")
    p.set_defaults(run=run)


def _rule_set(args: argparse.Namespace) -> tuple[RuleSet, list[Any], str]:
    from node.routing import RuleSet, load_rules
    from node.settings import load_settings

    settings = load_settings(args.config)
    destinations = list(settings.destinations)
    names = [d.name for d in destinations] if args.config else None
    if args.rules is not None:
        return load_rules(args.rules, destinations=names), destinations, settings.node.ae_title
    routing = getattr(settings, "routing", None)
    if routing is not None:
        return routing.rule_set(names), destinations, settings.node.ae_title
    return RuleSet(), destinations, settings.node.ae_title


def run(args: argparse.Namespace) -> int:
    from node.routing import Phase, RuleError, evaluate_rules
    from node.routing.dryrun import DryRunError, inventory_of, results_of, study_cases
    from node.settings import SettingsError

    if not args.dry_run:
        print(
            "spinenode route: only --dry-run is supported; the running node applies the rules",
            file=sys.stderr,
        )
        return 2
    try:
        rule_set, destinations, node_aet = _rule_set(args)
    except (RuleError, SettingsError) as exc:
        print(f"spinenode route: {exc}", file=sys.stderr)
        return 2
    if not args.path.exists():
        print(f"spinenode route: no such file or folder: {args.path}", file=sys.stderr)
        return 1
    try:
        results, flags = results_of(args.findings) if args.findings else (None, None)
    except DryRunError as exc:
        print(f"spinenode route: {exc}", file=sys.stderr)
        return 1
    cases = study_cases(
        args.path,
        calling_aet=args.calling_aet,
        called_aet=args.called_aet or node_aet,
        inventory=inventory_of(args.path),
        results=results,
        flags=flags,
    )
    if not cases:
        print(
            f"spinenode route: no DICOM instances with a Study Instance UID under {args.path}",
            file=sys.stderr,
        )
        return 1
    report = []
    for case in cases:
        arrival = evaluate_rules(rule_set, case.facts, phase=Phase.ARRIVAL, destinations=destinations)
        entry: dict[str, Any] = {
            "study_instance_uid": case.study_instance_uid,
            "instances": case.instances,
            "series": len(case.facts.inventory),
            "arrival": arrival.to_json(),
        }
        lines = [
            f"study {case.study_instance_uid} ({case.instances} instances, "
            f"{len(case.facts.inventory)} series in the inventory)",
            *arrival.describe(),
        ]
        if case.facts.has_results:
            after = evaluate_rules(rule_set, case.facts, phase=Phase.RESULTS, destinations=destinations)
            entry["results"] = after.to_json()
            lines.extend(after.describe())
        report.append(entry)
        if not args.json:
            print("\n".join(lines))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0
