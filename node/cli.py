"""The ``spinenode`` command line: one sub-command per module in :mod:`node.commands`.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``; modules are imported
lazily so that ``spinenode criteria`` does not pay for pynetdicom or Celery.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "serve": "node.commands.serve",
    "worker": "node.commands.worker",
    "send": "node.commands.send",
    "studies": "node.commands.studies",
    "criteria": "node.commands.criteria",
    "inventory": "node.commands.inventory",
    "analyse": "node.commands.analyse",
    "phantom": "node.commands.phantom",
    "demo": "node.commands.demo",
    "route": "node.commands.route",
    "flower": "node.commands.flower",
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spinenode", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name in COMMANDS.items():
        if wanted in COMMANDS and name != wanted:
            sub.add_parser(name)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    code: int = args.run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
