"""The ``spinenode`` command line: one sub-command per module in node/commands.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``; modules are imported
lazily so that ``spinenode criteria`` does not pay for pynetdicom or Celery. Errors a command expects are
one line on standard error (``spinenode COMMAND: what is wrong; what to do``): exit code 2 for arguments,
settings or input documents that cannot be used as written, 1 for a failure while running (a peer, a port).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from workers import __version__

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
    "user": "node.commands.user",
    "audit": "node.commands.audit",
}

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain(text: str | None) -> str | None:
    """Help text without reST markup (``:mod:`x``` and double back-quotes)."""
    if text is None:
        return None
    return _ROLE.sub(r"\1", text).replace("``", "")


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"spinenode {__version__}")


def _add_logging(parser: argparse.ArgumentParser) -> None:
    from node.logs import FORMATS, LEVELS

    group = parser.add_argument_group("logging")
    group.add_argument("--log-level", choices=LEVELS, help="default: info ($SPINENODE_LOG_LEVEL)")
    group.add_argument("--log-format", choices=FORMATS, help="text or JSON lines ($SPINENODE_LOG_FORMAT)")


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spinenode", description=plain(__doc__.splitlines()[0]))
    _add_version(parser)
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
    for action in sub._choices_actions:
        action.help = plain(action.help)
    for command in sub.choices.values():
        command.description = plain(command.description or _help_of(sub, command.prog))
        command.epilog = plain(command.epilog)
        _add_version(command)
        _add_logging(command)
    return parser


def _help_of(sub: argparse._SubParsersAction, prog: str) -> str | None:
    name = prog.rsplit(" ", 1)[-1]
    return next((a.help for a in sub._choices_actions if a.dest == name), None)


def main(argv: Sequence[str] | None = None) -> int:
    from node.commands.common import CommandError, fail

    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    from node import logs

    logs.request(getattr(args, "log_level", None), getattr(args, "log_format", None))
    if getattr(args, "log_level", None) or getattr(args, "log_format", None):
        logs.configure()
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except CommandError as exc:
        return fail(args, exc)
    except BrokenPipeError:  # the reader went away (`spinenode studies | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
