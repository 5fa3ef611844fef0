"""``spinenode user add|list|disable|token``: the people who use the web app."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from node.commands.common import add_config_option, settings_or_exit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="add, list or disable web accounts; make API tokens")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (the password is asked, or read with --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["radiologist", "operator", "viewer"])
    add.add_argument("--name", help="full name, shown as author of findings")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    listing = actions.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    disable = actions.add_parser("disable", help="disable an account and end its sessions and tokens")
    disable.add_argument("username")
    token = actions.add_parser("token", help="make an API token for an account (shown once)")
    token.add_argument("username")
    token.add_argument("--label")
    for action in (add, listing, disable, token):
        add_config_option(action)
    p.set_defaults(run=run)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("spinenode: the passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    from node.accounts.users import AccountError, add_user, create_api_token, disable_user, list_users
    from node.audit.trail import record
    from node.registry.db import Registry

    registry = Registry(settings.database_url)
    actor = f"cli:{getpass.getuser()}"
    try:
        with registry.session() as session:
            if args.action == "add":
                account = add_user(session, args.username, _password(args.password_stdin), args.role, args.name)
                record(session, "user_added", actor=actor, username=account.username, role=account.role)
                print(f"added {account.username} ({account.role})")
            elif args.action == "disable":
                account = disable_user(session, args.username)
                record(session, "user_disabled", actor=actor, username=account.username)
                print(f"disabled {account.username}; its sessions and API tokens no longer work")
            elif args.action == "token":
                token = create_api_token(session, args.username, args.label)
                record(session, "api_token_made", actor=actor, username=args.username)
                print(token)
            else:
                rows = [
                    {"username": a.username, "name": a.full_name, "role": a.role, "disabled": a.disabled}
                    for a in list_users(session)
                ]
                if args.json:
                    print(json.dumps(rows, indent=2))
                else:
                    for r in rows:
                        state = "disabled" if r["disabled"] else "enabled"
                        print(f"{r['username']:<24} {r['role']:<12} {state:<9} {r['name'] or ''}")
                    if not rows:
                        print("no accounts")
    except AccountError as exc:
        print(f"spinenode: {exc}", file=sys.stderr)
        return 2
    finally:
        registry.dispose()
    return 0
