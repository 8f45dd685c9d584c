"""Manage coordinator accounts.

.venv/bin/python -m bot.console add-coordinator EMAIL --name NAME [--role admin]
    The password is read from standard input (typed twice at a terminal, or the first
    line of a pipe), never from the command line, where `ps` would show it.
.venv/bin/python -m bot.console audit [--limit N]
    The audit log, newest first: who opened or decrypted what, deletions, consent changes.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.console.accounts import AccountError, add_coordinator, audit_log
from bot.console.models import ROLES


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            sys.exit("The two passwords differ; nothing was saved.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-coordinator", help="create an account (password from stdin)")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="shown to the person: 'Alex has joined'")
    add.add_argument("--role", choices=ROLES, default="coordinator")
    log = sub.add_parser("audit", help="list the audit trail, newest first")
    log.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(argv)

    if args.command == "add-coordinator":
        try:
            person = add_coordinator(args.email, args.name, _password(), args.role)
        except AccountError as exc:
            print(f"Not created: {exc}", file=sys.stderr)
            return 1
        print(f"Created {person.role} account for {person.name} <{person.email}>.")
        return 0
    for line in audit_log(args.limit):
        print(
            f"{line.at:%Y-%m-%d %H:%M:%S} UTC  {line.email:30} {line.action:14} "
            f"{line.conversation_id or ''} {line.record or ''} {line.detail or ''}".rstrip()
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
