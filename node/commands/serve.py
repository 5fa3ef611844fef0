"""``spinenode serve [--config FILE] [--no-worker]``: run the node."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from node.commands.common import (
    CommandError,
    add_config_option,
    check_port_free,
    log_studies_of_tasks,
    settings_or_exit,
    setup_logging,
)

log = logging.getLogger("node.serve")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the node (SCP, analysis, delivery, web)")
    add_config_option(p)
    p.add_argument("--no-worker", action="store_true", help="do not run an in-process Celery worker")
    p.add_argument("--no-web", action="store_true", help="do not serve the web app")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging()
    settings = settings_or_exit(args)
    s = settings.node
    # Both ports are checked before anything starts: a node never runs half-started.
    check_port_free(s.host, s.port, "DICOM", "node.port")
    if not args.no_web:
        check_port_free(settings.web.host, settings.web.port, "web", "web.port")
    from node import runtime
    from node.daemon.node import Node

    rt = runtime.install(runtime.Runtime.create(settings))
    log_studies_of_tasks(rt)
    node = Node(rt, with_worker=not args.no_worker, with_web=not args.no_web)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        node.start()
    except Exception as exc:  # a port taken between the check and the start, an unwritable data folder
        with contextlib.suppress(Exception):
            node.stop()
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CommandError(f"the node did not start and has stopped: {detail}") from None
    web = f"web http://{settings.web.host}:{node.web.port}/" if node.web else "no web app"
    print(
        f"spinenode: {s.ae_title} listening on {s.host}:{node.scp.port}; {web}; data in {settings.data_dir}", flush=True
    )
    from node.web.auth import ensure_web_token

    if not args.no_web:
        _, token_file = ensure_web_token(settings)
        if token_file is not None:
            print(f"spinenode: worklist sign-in token in {token_file}", flush=True)
    stop.wait()
    log.info("stopping")
    node.stop()
    return 0
