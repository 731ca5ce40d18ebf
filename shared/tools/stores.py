"""``orders-stores``: which business units (stores) each POS identity holds.

    orders-stores grant EMAIL BU [BU ...]    add business units to EMAIL's grant
    orders-stores grant EMAIL --all          EMAIL holds every business unit
    orders-stores revoke EMAIL [BU ...]      take business units away (none named: all)
    orders-stores list [EMAIL]               every grant, or EMAIL's

The grants live in Firestore (``pos-grants/{email}``); the pos function reads each at
most ``POS_GRANTS_CACHE_SECONDS`` (30 s by default) after it changed, so a change takes
effect within that bound, without a deploy (docs/pos.md#how-an-identity-gets-its-stores).
Against the emulator when ``FIRESTORE_EMULATOR_HOST`` is set, else the project's
database with Application Default Credentials (``roles/datastore.user``: terraform's
``stores_operators``). Each change is one audit line on stderr, and a record in
``pos-grant-changes``: who ran it, what changed, before and after.

Exit codes: 0 done, 2 the command could not run (bad input, Firestore unreachable).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from shared.config import DEFAULT_FIRESTORE_DATABASE, Settings
from shared.domain.grants import (
    Grant,
    GrantChange,
    business_units_of,
    granted,
    identity_of,
    revoked,
)
from shared.errors import InvalidId, StoreUnavailable
from shared.tools.errors import ToolError

if TYPE_CHECKING:
    from shared.ports import GrantStore

PROG = "orders-stores"
EXIT_OK = 0
EXIT_UNUSABLE = 2
EMULATOR_VARIABLE = "FIRESTORE_EMULATOR_HOST"
_GCLOUD_TIMEOUT_SECONDS = 10


class StoresError(ToolError):
    """``orders-stores`` cannot run as asked: bad input, or Firestore unreachable."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise StoresError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--project",
        default=os.environ.get("GOOGLE_CLOUD_PROJECT"),
        help="Google Cloud project id (default: $GOOGLE_CLOUD_PROJECT); the Firestore "
        f"emulator is used when ${EMULATOR_VARIABLE} is set",
    )
    common.add_argument(
        "--database",
        default=os.environ.get("FIRESTORE_DATABASE", DEFAULT_FIRESTORE_DATABASE),
        help="Firestore database (default: $FIRESTORE_DATABASE or %(default)s)",
    )
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    grant = commands.add_parser("grant", parents=[common], help="add business units to a grant")
    grant.add_argument("email")
    grant.add_argument("business_units", nargs="*", metavar="BU")
    grant.add_argument("--all", action="store_true", help="every business unit")
    revoke = commands.add_parser("revoke", parents=[common], help="take business units away")
    revoke.add_argument("email")
    revoke.add_argument("business_units", nargs="*", metavar="BU", help="none: all of them")
    listing = commands.add_parser("list", parents=[common], help="show grants")
    listing.add_argument("email", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None, grants: GrantStore | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return _run(args, grants if grants is not None else _firestore(args))
    except StoresError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except StoreUnavailable as exc:
        print(f"{PROG}: error: Firestore did not answer: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK


def _run(args: argparse.Namespace, grants: GrantStore) -> int:
    if args.command == "list":
        listed = grants.list()
        if args.email is not None:
            wanted = _identity(args.email)
            listed = [grant for grant in listed if grant.identity == wanted]
        for grant in listed:
            print(f"{grant.identity}\t{grant.describe()}")
        return EXIT_OK
    identity = _identity(args.email)
    try:
        units = business_units_of(args.business_units)
    except InvalidId as exc:
        raise StoresError(str(exc)) from None
    command = " ".join([args.command, identity, *sorted(units), *(["--all"] if _all(args) else [])])
    if args.command == "grant":
        if not units and not args.all:
            raise StoresError("name the business units to grant, or --all")
        if units and args.all:
            raise StoresError("--all grants every business unit: name none with it")
        change = grants.change(
            identity,
            lambda before: granted(before, identity, units, everything=args.all),
            operator=operator(),
            command=command,
        )
    else:
        change = grants.change(
            identity,
            lambda before: _revoked(before, identity, units or None),
            operator=operator(),
            command=command,
        )
    _report(change)
    return EXIT_OK


def _all(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "all", False))


def _revoked(before: Grant | None, identity: str, units: frozenset[str] | None) -> Grant | None:
    try:
        return revoked(before, identity, units)
    except ValueError as exc:
        raise StoresError(str(exc)) from None


def _identity(email: str) -> str:
    try:
        return identity_of(email)
    except ValueError as exc:
        raise StoresError(str(exc)) from None


def _report(change: GrantChange) -> None:
    before = "nothing" if change.before is None else change.before.describe()
    after = "nothing" if change.after is None else change.after.describe()
    if change.changed:
        print(f"{change.identity}: {before} -> {after}")
    else:
        print(f"{change.identity}: unchanged, holds {after}")
    # The audit line: one JSON object, whatever the terminal shows.
    print(
        json.dumps({"audit": PROG, "changed": change.changed, **change.to_json()}), file=sys.stderr
    )


def operator() -> str:
    """Who runs the command: the gcloud account (or ADC's service account), else the OS user."""
    user = getpass.getuser()
    if os.environ.get(EMULATOR_VARIABLE):
        return f"{user} (emulator)"
    gcloud = shutil.which("gcloud")
    if gcloud is not None:
        try:
            account = subprocess.run(  # noqa: S603 - gcloud found on PATH, fixed arguments
                [gcloud, "config", "get-value", "account"],
                capture_output=True,
                text=True,
                timeout=_GCLOUD_TIMEOUT_SECONDS,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            account = ""
        if account and "@" in account:
            return account
    return _adc_account() or f"{user} (OS user)"


def _adc_account() -> str | None:
    """The service account of Application Default Credentials, when they are one."""
    import google.auth

    try:
        credentials, _ = google.auth.default()
    except google.auth.exceptions.DefaultCredentialsError:
        return None
    email = getattr(credentials, "service_account_email", None)
    return email if isinstance(email, str) and "@" in email else None


def _firestore(args: argparse.Namespace) -> GrantStore:
    if not args.project:
        raise StoresError("no project: pass --project or set GOOGLE_CLOUD_PROJECT")
    from shared.adapters.firestore_grants import FirestoreGrantStore

    return FirestoreGrantStore.from_settings(
        Settings(project_id=args.project, firestore_database=args.database)
    )


if __name__ == "__main__":
    sys.exit(main())
