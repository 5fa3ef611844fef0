"""``spinenode demo``: the newcomer's tour.

Starts a node on the embedded default (SQLite, filesystem broker, in-process worker) in a new folder of
its own (under the system's temporary folder unless ``--dir`` says where; never in the current folder),
writes a phantom study, sends it over DICOM like a PACS would, waits for the analysis and prints where the
results are (SR and Secondary Capture files). The node stops at the end, and the demo says so; ``--keep``
leaves it running with its worklist until Ctrl-C.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.commands.common import setup_logging

if TYPE_CHECKING:
    from workers.results.findings import FindingsReport


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start a node, send it a phantom study, show where the results are")
    p.add_argument("--dir", help="folder for the demo node's data (default: a new folder under the temporary folder)")
    p.add_argument("--scenario", default="epidural_fluid", help="phantom scenario (default: %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the node running afterwards (Ctrl-C stops it)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the report")
    p.set_defaults(run=run)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def report_lines(row: dict[str, Any], report: FindingsReport | None = None) -> list[str]:
    """The study's flags (the findings first) and its grades in words, as the worklist row shows them; with the
    stored findings ``report``, what it says when nothing abnormal was found and which grades are not graded."""
    from node.web.worklist import grade_items
    from workers.criteria.words import NOT_ASSESSABLE_SUFFIX as suffix
    from workers.criteria.words import NOT_GRADED_WORDS

    flags = [str(flag) for flag in row.get("flags") or []]
    unread = [f"    not assessable (not graded): {f.removesuffix(suffix)}" for f in flags if f.endswith(suffix)]
    found = [f"    finding: {f}" for f in flags if not f.endswith(suffix)]
    if not found and report is not None:
        words = report.no_finding_words
        found = [f"    {words[:1].lower()}{words[1:]}"]
    elif not found:
        found = ["    no abnormal finding" + (" in the outputs that could be assessed" if unread else "")]
    not_graded = {n.result for n in report.not_graded} if report is not None else set()
    items = grade_items(dict(row.get("grades") or {}))
    grades = "; ".join(f"{g['label']}: {NOT_GRADED_WORDS if g['key'] in not_graded else g['grade']}" for g in items)
    return [*found, *unread, f"    grades: {grades or '—'}"]


def _say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    import logging

    setup_logging(logging.WARNING)
    from node import runtime
    from node.daemon.node import Node
    from node.dicom.scu import send_files
    from node.findings.review import latest_report
    from node.registry.models import Study
    from node.registry.views import results_of, study_row
    from node.settings import Settings
    from workers.phantom import write_phantom

    root = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="spinenode-demo-"))
    settings = Settings.model_validate(
        {
            "node": {"port": _free_port(), "data_dir": str(root / "var"), "stable_seconds": 2.0, "min_free_bytes": 0},
            "web": {"port": _free_port()},
        }
    )
    rt = runtime.install(runtime.Runtime.create(settings))
    node = Node(rt)
    node.start()
    _say(f"1/4 node {settings.node.ae_title} listening on 127.0.0.1:{node.scp.port} (data in {root / 'var'})")
    study = write_phantom(root / "phantom", args.scenario)
    _say(f"2/4 phantom study '{args.scenario}': {len(study.files)} images, truth in {study.truth_path}")
    outcomes = send_files(list(study.files), settings.node.ae_title, "127.0.0.1", node.scp.port, calling_aet="DEMO")
    _say(f"3/4 sent {sum(o.ok for o in outcomes)}/{len(outcomes)} images with C-STORE")
    deadline = time.monotonic() + args.timeout
    row: dict[str, object] = {}
    results: list[dict[str, object]] = []
    report: FindingsReport | None = None
    last = ""
    while time.monotonic() < deadline:
        with rt.registry.session() as session:
            found = session.query(Study).filter(Study.study_uid == study.study_instance_uid).one_or_none()
            if found is not None:
                row = study_row(session, found)
                results = results_of(session, found)
                report = latest_report(session, found)
        job = row.get("job") or {}
        status = f"{row.get('state', 'receiving')}" + (f" ({job.get('step')})" if isinstance(job, dict) and job else "")
        if status != last and sys.stdout.isatty():
            print(f"\r    … {status:<40}", end="", flush=True)
        last = status
        if row.get("state") in ("reported", "delivered", "failed"):
            break
        time.sleep(0.5)
    if sys.stdout.isatty():
        print()
    if row.get("state") not in ("reported", "delivered"):
        node.stop()
        _say(f"4/4 no report within {args.timeout:.0f} s: state {row.get('state')}, reason {row.get('reason')}")
        _say(f"the demo node has stopped; its data is in {root}")
        return 1
    _say("4/4 report ready:")
    for r in results:
        _say(f"    {r['kind']}: {r['path']}")
    for line in report_lines(row, report):
        _say(line)
    _say("    validate: dciodvfy <file>   dump the SR: dsrdump <sr file>")
    if args.keep:
        token_file = settings.data_dir / "web-token"
        _say(
            f"worklist: http://{settings.web.host}:{node.web.port}/"
            + (f"  (sign-in token in {token_file})" if token_file.exists() else "")
        )
        _say("the demo node keeps running; Ctrl-C stops it")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    node.stop()
    hint = "" if args.keep else " (run `spinenode demo --keep` to keep it running and open its worklist)"
    _say(f"the demo node has stopped{hint}; its data is in {root}")
    return 0
