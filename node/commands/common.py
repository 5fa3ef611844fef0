"""What the node's commands share: the --config option, settings loading and logging."""

from __future__ import annotations

import argparse
import logging
import sys

from node.settings import Settings, SettingsError, load_settings


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings TOML (default: $SPINENODE_CONFIG)")


def settings_or_exit(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        print(f"spinenode: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("pynetdicom", "celery", "kombu", "amqp", "uvicorn.error", "alembic", "PIL", "highdicom"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # "no hostname" for the local broker
    from node.logs_phi import install

    install()
