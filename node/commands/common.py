"""What the node's commands share: the --config option, settings loading, errors and port checks."""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings models (pydantic) load when a command reads its settings, not for --help
    from node.settings import Settings

EXIT_FAILED = 1  # the command ran and something failed (a peer, a port, a file)
EXIT_USAGE = 2  # what was asked cannot be done as written (arguments, settings, input documents)


class CommandError(Exception):
    """An error the command line prints as one line ``spinenode <command>: <message>`` and exits with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings TOML (default: $SPINENODE_CONFIG)")


def settings_or_exit(args: argparse.Namespace) -> Settings:
    from node.settings import SettingsError, load_settings

    try:
        return load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def check_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Fail with one line naming the port and the setting when ``host:port`` cannot be listened on."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind((host, port))
        except OSError as exc:
            section, key = setting.split(".")
            env = f"SPINENODE_{section.upper()}__{key.upper()}"
            if exc.errno == errno.EADDRINUSE:
                why = "is in use by another program (another node? a PACS?)"
            else:
                why = f"cannot be listened on: {exc.strerror}"
            raise CommandError(
                f"the {what} port {host}:{port} {why}; stop that program or choose another port "
                f"([{section}] {key} or {env})"
            ) from None


def setup_logging(level: int = logging.INFO) -> None:
    """The node's log handler (node/logs.py) at ``level`` unless --log-level or SPINENODE_LOG_LEVEL says otherwise."""
    from node import logs

    logs.configure(level)
    from node.logs.phi import install

    install()


def log_studies_of_tasks(runtime: Any) -> None:
    """Celery task lines in this process name their study: the UID is looked up from the job or delivery."""
    from node import logs
    from node.registry.models import Delivery, Job, Study

    def lookup(kind: str, row_id: Any) -> str | None:
        with runtime.registry.session() as session:
            row = session.get(Job if kind == "job" else Delivery, int(row_id))
            study = session.get(Study, row.study_id) if row is not None else None
            return study.study_uid if study is not None else None

    logs.set_study_lookup(lookup)


def command_name(args: argparse.Namespace) -> str:
    return f"spinenode {args.command}" if getattr(args, "command", None) else "spinenode"


def fail(args: argparse.Namespace, exc: CommandError) -> int:
    print(f"{command_name(args)}: {exc}", file=sys.stderr, flush=True)
    return exc.code
