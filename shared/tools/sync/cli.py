"""The ``orders-sync`` command line: arguments in, one of the commands run, exit code out.

Exit codes: 0 everything accepted (or matching, or stored at a newer version);
1 something rejected, failed or (verify) missing or different; 2 bad usage, an
unreachable URL or refused credentials; 130 interrupted (the checkpoint keeps
what was done).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.tools.errors import SyncError
from shared.tools.sync.client import DEFAULT_CONCURRENCY, DEFAULT_READ_TIMEOUT_SECONDS
from shared.tools.sync.commands import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Connection,
    PushOptions,
    VerifyOptions,
    push,
    verify,
)
from shared.tools.sync.retrying import RetryPolicy
from shared.tools.sync.versions import DEFAULT_SOURCE, RECORD_MEMBER, VersionSource

PROG = "orders-sync"
DEFAULT_URL = "http://127.0.0.1:8080"
URL_VARIABLE = "ORDERS_SYNC_URL"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "push":
            return push(
                PushOptions(
                    files=tuple(args.files),
                    connection=_connection(args),
                    checkpoint=args.checkpoint,
                    rejects=args.rejects,
                    state_dir=args.state_dir,
                    resend=args.resend,
                    progress=not args.no_progress,
                    versions=args.version_pointer,
                    check_versions=not args.no_version_check,
                )
            )
        return verify(
            VerifyOptions(
                files=tuple(args.files),
                connection=_connection(args),
                settle_seconds=args.settle,
                progress=not args.no_progress,
                versions=args.version_pointer,
            )
        )
    except SyncError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to go on", file=sys.stderr)
        return EXIT_INTERRUPTED


def _connection(args: argparse.Namespace) -> Connection:
    return Connection(
        url=args.url,
        audience=args.audience,
        concurrency=args.concurrency,
        rate=args.rate,
        timeout=args.timeout,
        retry_for=args.retry_for,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Send an OMS export of customer orders to the ingest API, and check it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    push_parser = commands.add_parser(
        "push",
        help="PUT every order of the files; resumable",
        description="PUT every record of the files, each once. Run the same command again "
        "after a crash or Ctrl-C: what was accepted is skipped.",
    )
    _add_common(push_parser)
    push_parser.add_argument(
        "--checkpoint",
        type=Path,
        help="the checkpoint file (default: one per inputs and URL under --state-dir)",
    )
    push_parser.add_argument(
        "--rejects",
        type=Path,
        help="where the records not accepted go, with the reasons "
        "(default: beside the checkpoint, .rejects.ndjson)",
    )
    push_parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".orders-sync"),
        help="folder of the default checkpoint and rejects files (default: %(default)s)",
    )
    push_parser.add_argument(
        "--resend",
        action="store_true",
        help="send everything again, even what an earlier run had accepted",
    )
    push_parser.add_argument(
        "--no-version-check",
        action="store_true",
        help="PUT versioned records without first asking the store for its version "
        "(one request less each; the service still keeps the higher version, "
        "but the summary counts such records as accepted, not newer)",
    )
    verify_parser = commands.add_parser(
        "verify",
        help="GET every order of the files and report what is missing or differs",
        description="Read back the last record of every order of the files and report "
        "the orders that are missing or stored with other content.",
    )
    _add_common(verify_parser)
    verify_parser.add_argument(
        "--settle",
        type=_non_negative,
        default=10.0,
        metavar="SECONDS",
        help="read a missing or different order again for up to this long after the start, "
        "for orders still being processed (default: %(default)s)",
    )
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help='NDJSON files ({"businessUnitId", "customerOrder"} per line) '
        "or folders of such *.json files",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE, DEFAULT_URL),
        help=f"the ingest API (default: ${URL_VARIABLE} or {DEFAULT_URL}, the local stack)",
    )
    parser.add_argument(
        "--audience",
        help="send a Google ID token for this audience (the deployed function's URL); "
        "from Application Default Credentials",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help="requests in flight at once (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        metavar="PER_SECOND",
        help="at most this many requests a second",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_READ_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="wait this long for one answer (default: %(default)s)",
    )
    parser.add_argument(
        "--retry-for",
        type=_non_negative,
        default=RetryPolicy().deadline,
        metavar="SECONDS",
        help="retry one order for at most this long in all before it fails (default: %(default)s)",
    )
    parser.add_argument(
        "--version-pointer",
        type=_version_source,
        default=DEFAULT_SOURCE,
        metavar="POINTER",
        help="read each record's source version at this JSON pointer into the record, "
        "e.g. /customerOrder/revision; every record must have one there "
        f"(default: the record's optional {RECORD_MEMBER!r} member)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _version_source(text: str) -> VersionSource:
    try:
        return VersionSource.from_pointer(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a non-negative number")
    return value


if __name__ == "__main__":
    sys.exit(main())
