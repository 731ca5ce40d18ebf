"""``orders-dlq``: list, show, replay and purge dead-lettered customer orders and order events.

The messages the processor gave up on, OMS versions and store updates alike, are in
``customer-orders-dead-letter``; ``replay`` sends each back to the topic it came from (the
orders topic or the store-updates topic, told by the subscription that dead-lettered it).
``--webhook NAME`` works on the events a webhook did not take instead, and replays them
to that webhook alone (its replay topic).

Exit codes: 0 done, 1 something failed (or a purge was declined), 2 the
command could not run (bad input, unknown order, Pub/Sub unreachable).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from shared.config import (
    DEFAULT_DEAD_LETTER_SUBSCRIPTION,
    DEFAULT_EVENTS_TOPIC,
    DEFAULT_ORDERS_TOPIC,
    DEFAULT_STORE_UPDATES_SUBSCRIPTION,
    DEFAULT_STORE_UPDATES_TOPIC,
    webhook_dead_letter_name,
    webhook_replay_name,
)
from shared.domain.ids import validate_id
from shared.tools.dlq import render
from shared.tools.dlq.clients import new_publisher, new_subscriber, resource_path, where
from shared.tools.dlq.filters import Selection, parse_duration, select, unmatched_orders
from shared.tools.dlq.operations import Leased, Outcome, Status, purge, replay
from shared.tools.dlq.records import DeadLetter, OrderRef
from shared.tools.dlq.replay_message import ReplayTopics
from shared.tools.errors import DlqError, NotReplayable

if TYPE_CHECKING:
    from shared.tools.dlq.queue import PubSubDeadLetterQueue

PROG = "orders-dlq"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_SETTLE_SECONDS = 1.0
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, and no SystemExit for in-process callers.
        raise DlqError(f"{message} (see {self.prog} --help)")


def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse hides a ValueError's message; ArgumentTypeError keeps it."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = kind(text)
        if not value > 0:
            raise ValueError(f"{text!r} is not positive")
        return value

    return convert


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"{text!r} is negative")
    return value


def _business_unit(text: str) -> str:
    return validate_id(text, name="business unit id")


def build_parser() -> argparse.ArgumentParser:
    connection = _Parser(add_help=False)
    connection.add_argument(
        "--project",
        help="Google Cloud project id (default: $GOOGLE_CLOUD_PROJECT); the Pub/Sub emulator "
        "is used when $PUBSUB_EMULATOR_HOST is set, else Application Default Credentials",
    )
    connection.add_argument(
        "--subscription",
        help="dead-letter subscription, a name or projects/P/subscriptions/S "
        f"(default: {DEFAULT_DEAD_LETTER_SUBSCRIPTION}, or the webhook's)",
    )
    connection.add_argument(
        "--webhook",
        type=_argument_type(_webhook_name),
        metavar="NAME",
        help="the dead letters of this webhook of terraform's event_webhooks: its events "
        "queue, and its replay topic for replay",
    )
    connection.add_argument(
        "--store-updates-subscription",
        default=DEFAULT_STORE_UPDATES_SUBSCRIPTION,
        metavar="SUBSCRIPTION",
        help="the processor's subscription of the store-updates topic: what it dead-lettered "
        "is a store update, replayed to the store-updates topic, or never replayed "
        "(default: %(default)s)",
    )
    connection.add_argument(
        "--events-topic",
        default=DEFAULT_EVENTS_TOPIC,
        metavar="TOPIC",
        help="the events topic the webhooks' queues are named after (default: %(default)s)",
    )
    connection.add_argument(
        "--timeout",
        type=_argument_type(_positive(float)),
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="bound of every Pub/Sub call (default: %(default)s)",
    )
    connection.add_argument(
        "--settle",
        type=_argument_type(_non_negative_float),
        default=DEFAULT_SETTLE_SECONDS,
        metavar="SECONDS",
        help="the queue counts as fully read once no new message came for this long "
        "(default: %(default)s)",
    )

    filters = _Parser(add_help=False)
    filters.add_argument(
        "--order",
        action="append",
        type=_argument_type(OrderRef.parse),
        default=[],
        metavar="BU/ID",
        help="only this order (repeatable); an order with no dead letter is an error",
    )
    filters.add_argument(
        "--business-unit", type=_argument_type(_business_unit), metavar="BU", help="only this one"
    )
    filters.add_argument(
        "--older-than",
        type=_argument_type(parse_duration),
        metavar="AGE",
        help="only messages dead-lettered longer ago than AGE (30m, 2h, 1d, 1h30m)",
    )
    filters.add_argument(
        "--limit",
        type=_argument_type(_positive(int)),
        metavar="N",
        help="at most N messages, longest in the queue first",
    )

    parser = _Parser(
        prog=PROG,
        description="Inspect, replay and purge dead-lettered customer-order messages.",
        epilog="Exit codes: 0 done, 1 something failed, 2 the command could not run.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        parents=[connection, filters],
        help="one line per dead-lettered message; nothing is consumed",
    )
    listing.add_argument("--json", action="store_true", help="a JSON array instead of lines")
    listing.set_defaults(run=_list)

    show = commands.add_parser(
        "show", parents=[connection], help="everything about one order's or one message's letters"
    )
    show.add_argument("target", metavar="BU/ID|MESSAGE_ID")
    show.add_argument("--json", action="store_true", help="a JSON array instead of text")
    show.set_defaults(run=_show)

    replaying = commands.add_parser(
        "replay",
        parents=[connection, filters],
        help="republish each to the topic it came from, unchanged; ack after confirmation",
    )
    replaying.add_argument(
        "--topic",
        help="where OMS versions go, a name or projects/P/topics/T "
        f"(default: {DEFAULT_ORDERS_TOPIC}; with --webhook, where its events go: its replay topic)",
    )
    replaying.add_argument(
        "--store-updates-topic",
        default=DEFAULT_STORE_UPDATES_TOPIC,
        metavar="TOPIC",
        help="where store updates go, a name or projects/P/topics/T (default: %(default)s)",
    )
    replaying.add_argument(
        "--dry-run", action="store_true", help="print what would be replayed; change nothing"
    )
    replaying.set_defaults(run=_replay)

    purging = commands.add_parser(
        "purge", parents=[connection, filters], help="drop matching messages for good"
    )
    purging.add_argument("--all", action="store_true", help="every message (no filter needed)")
    purging.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purging.set_defaults(run=_purge)
    return parser


def _webhook_name(text: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,29}", text):
        raise ValueError(f"{text!r} is not a webhook name (lowercase letters, digits, '-')")
    return text


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """The subscription and topic ``--webhook`` names, unless given explicitly."""
    if args.webhook is not None and args.subscription is not None:
        raise DlqError("--webhook names the subscription: give one of --webhook, --subscription")
    if args.subscription is None:
        args.subscription = (
            DEFAULT_DEAD_LETTER_SUBSCRIPTION
            if args.webhook is None
            else webhook_dead_letter_name(args.events_topic, args.webhook)
        )
    if getattr(args, "topic", "") is None:
        args.topic = (
            DEFAULT_ORDERS_TOPIC
            if args.webhook is None
            else webhook_replay_name(args.events_topic, args.webhook)
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _resolve(build_parser().parse_args(argv))
        code: int = args.run(args)
    except DlqError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; unfinished messages stay in the queue", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    return code


def _now() -> datetime:
    return datetime.now(UTC)


def _project(args: argparse.Namespace) -> str:
    project: str = (args.project or os.environ.get("GOOGLE_CLOUD_PROJECT", "")).strip()
    if not project:
        raise DlqError("no project: pass --project or set GOOGLE_CLOUD_PROJECT")
    return project


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        orders=frozenset(args.order),
        business_unit_id=args.business_unit,
        older_than=args.older_than,
        limit=args.limit,
    )


@contextlib.contextmanager
def _dead_letter_queue(args: argparse.Namespace) -> Iterator[PubSubDeadLetterQueue]:
    project = _project(args)
    subscription = resource_path(project, "subscriptions", args.subscription)
    # The Pub/Sub adapters, and with them the gRPC stack, only when a command needs them.
    from shared.tools.dlq.queue import PubSubDeadLetterQueue

    subscriber = new_subscriber()
    try:
        with PubSubDeadLetterQueue(
            subscriber,
            subscription,
            where=where(project),
            timeout=args.timeout,
            settle=args.settle,
            store_updates_subscription=args.store_updates_subscription,
        ) as queue:
            yield queue
    finally:
        subscriber.close()


def _chosen(args: argparse.Namespace, leased: Sequence[Leased], now: datetime) -> list[Leased]:
    selection = _selection(args)
    missing = unmatched_orders([item.letter for item in leased], selection)
    if missing:
        raise DlqError(
            f"no dead-lettered message for order {render.order_list(missing)} "
            f"in {args.subscription}"
        )
    return select(leased, selection, now, letter_of=lambda item: item.letter)


def _list(args: argparse.Namespace) -> int:
    with _dead_letter_queue(args) as queue:
        leased = queue.scan()
        now = _now()
        letters = [item.letter for item in _chosen(args, leased, now)]
    if args.json:
        print(json.dumps([render.summary_json(letter, now) for letter in letters], indent=2))
    elif letters:
        print("\n".join(render.list_lines(letters, now)))
    print(
        f"{len(letters)} of {len(leased)} dead-lettered message(s) in {args.subscription}",
        file=sys.stderr,
    )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    target: str = args.target
    wanted = _show_target(target)
    with _dead_letter_queue(args) as queue:
        letters = [item.letter for item in queue.scan() if wanted(item.letter)]
    if not letters:
        kind = "order" if "/" in target else "message id"
        raise DlqError(f"no dead-lettered message for {kind} {target} in {args.subscription}")
    now = _now()
    letters.sort(key=lambda letter: letter.dead_lettered_at)
    if args.json:
        print(json.dumps([render.detail_json(letter, now) for letter in letters], indent=2))
    else:
        print("\n\n".join("\n".join(render.detail_lines(letter, now)) for letter in letters))
    return EXIT_OK


def _show_target(target: str) -> Callable[[DeadLetter], bool]:
    """``BU/ID`` selects an order's letters; anything else is a message id."""
    if "/" not in target:
        return lambda letter: letter.message_id == target
    try:
        order = OrderRef.parse(target)
    except ValueError as exc:
        raise DlqError(str(exc)) from None
    return lambda letter: letter.order == order


def _replay_topics(args: argparse.Namespace) -> ReplayTopics:
    """Each letter goes back to its own topic; a webhook's, to its replay topic alone."""
    project = _project(args)
    topic = resource_path(project, "topics", args.topic)
    if args.webhook is not None:
        return ReplayTopics(events=topic)
    return ReplayTopics(
        orders=topic, store_updates=resource_path(project, "topics", args.store_updates_topic)
    )


def _replay(args: argparse.Namespace) -> int:
    topics = _replay_topics(args)
    with _dead_letter_queue(args) as queue:
        chosen = _chosen(args, queue.scan(), _now())
        if not chosen:
            print(f"nothing to replay in {args.subscription}")
            return EXIT_OK
        if args.dry_run:
            return _print_dry_run(chosen, topics)
        from shared.tools.dlq.republisher import PubSubRepublisher

        publisher = new_publisher()
        try:
            with _Progress(len(chosen), "replaying") as progress:
                summary = replay(
                    chosen,
                    queue,
                    PubSubRepublisher(publisher, timeout=args.timeout),
                    topics=topics,
                    replayed_at=_now(),
                    report=progress.report,
                )
        finally:
            publisher.stop()
    print(
        f"replayed {summary.count(Status.REPLAYED)}, skipped {summary.count(Status.SKIPPED)}, "
        f"failed {summary.count(Status.FAILED)} (to {' or '.join(topics.all())})"
    )
    return EXIT_FAILED if summary.failed else EXIT_OK


def _print_dry_run(chosen: Sequence[Leased], topics: ReplayTopics) -> int:
    replayable = 0
    for item in chosen:
        letter = item.letter
        try:
            if letter.problem is not None:
                raise NotReplayable(letter.problem)
            topic = topics.of(letter)
        except NotReplayable as exc:
            print(f"would skip   {render.describe(letter)}: {exc}")
        else:
            replayable += 1
            print(f"would replay {render.describe(letter)} to {topic}")
    print(
        f"dry run: would replay {replayable}, skip {len(chosen) - replayable}; nothing was changed"
    )
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    if not _selection(args).narrows and not args.all:
        raise DlqError("name what to drop: --order, --business-unit, --older-than, or --all")
    with _dead_letter_queue(args) as queue:
        now = _now()
        chosen = _chosen(args, queue.scan(), now)
        if not chosen:
            print(f"nothing to purge in {args.subscription}")
            return EXIT_OK
        if not args.yes and not _confirmed(chosen, now):
            print("nothing dropped")
            return EXIT_FAILED
        with _Progress(len(chosen), "dropping") as progress:
            summary = purge(chosen, queue, report=progress.report)
    print(f"dropped {summary.count(Status.DROPPED)}, failed {summary.count(Status.FAILED)}")
    return EXIT_FAILED if summary.failed else EXIT_OK


def _confirmed(chosen: Sequence[Leased], now: datetime) -> bool:
    count = len(chosen)
    if not sys.stdin.isatty():
        raise DlqError(
            f"refusing to drop {count} message(s) without --yes: "
            "stdin is not a terminal to confirm on"
        )
    print("\n".join(render.list_lines([item.letter for item in chosen], now)), file=sys.stderr)
    # The prompt goes to stderr, like the list above it: stdout carries only results.
    print(f"Drop these {count} message(s) for good? [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


class _Progress:
    """A tqdm bar on stderr when it is a terminal; report lines go to stdout either way."""

    def __init__(self, total: int, description: str) -> None:
        try:
            from tqdm import tqdm
        except ImportError:  # installed without the tools extra: no bar, same output
            self._bar: Any = None
        else:
            self._bar = tqdm(
                total=total, desc=description, unit="msg", file=sys.stderr, disable=None
            )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def report(self, outcome: Outcome) -> None:
        line = f"{outcome.status.value:<8} {render.describe(outcome.letter)}"
        if outcome.detail:
            line = f"{line}: {outcome.detail}"
        if self._bar is None:
            print(line)
        else:
            self._bar.write(line, file=sys.stdout)
            self._bar.update(1)
