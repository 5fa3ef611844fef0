"""``spinenode flower [--config FILE] [--port N]``: Celery's Flower monitor on the node's own broker.

Flower is optional (``pip install 'spinenode[flower]'``); with the embedded broker it shows the workers of
this host, with Redis every worker of the deployment.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from node.commands.common import add_config_option, settings_or_exit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flower", help="run Celery Flower against the node's broker (optional package)")
    add_config_option(p)
    p.add_argument("--port", type=int, default=5555)
    p.add_argument("--address", default="127.0.0.1")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if importlib.util.find_spec("flower") is None:
        print("spinenode flower: Flower is not installed (pip install 'spinenode[flower]')", file=sys.stderr)
        return 2
    from workers.celery_app import configure

    app = configure(settings.broker.url, settings.data_dir)
    app.start(["flower", f"--port={args.port}", f"--address={args.address}"])
    return 0
