"""Replay and purge of leased dead letters, against two small ports.

The rule both follow: a dead letter is acknowledged (leaves the queue) only
after its purpose is fulfilled, i.e. for replay after Pub/Sub has confirmed
the republish. A crash in between can therefore duplicate a message, never
lose one; a duplicate is harmless because the processor skips equal
``receivedAt`` values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.tools.dlq.records import DeadLetter
from shared.tools.dlq.replay_message import ReplayMessage, ReplayTopics, build_replay_message
from shared.tools.errors import DlqError, NotReplayable

# Publishes of one chunk are in flight together; acks follow per chunk.
CHUNK_SIZE = 100


@dataclass(frozen=True, slots=True)
class Leased:
    """A dead letter pulled from the subscription, with the handle that acks or releases it."""

    ack_id: str
    letter: DeadLetter


class LeaseHolder(Protocol):
    def acknowledge(self, ack_ids: Sequence[str]) -> None:
        """Remove the messages from the queue; raises :class:`DlqError` when that failed."""

    def release(self, ack_ids: Sequence[str]) -> None:
        """Hand the messages back to the queue at once, unchanged (best effort)."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    message_id: str | None = None
    error: str | None = None


class Republisher(Protocol):
    def publish_all(self, messages: Sequence[ReplayMessage]) -> list[PublishResult]:
        """Publish and wait for each confirmation; one result per message, in order."""


class Status(enum.Enum):
    REPLAYED = "replayed"
    SKIPPED = "skipped"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Outcome:
    letter: DeadLetter
    status: Status
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    outcomes: tuple[Outcome, ...]

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    @property
    def failed(self) -> bool:
        return self.count(Status.FAILED) > 0


Report = Callable[[Outcome], None]


def replay(
    leased: Sequence[Leased],
    queue: LeaseHolder,
    republisher: Republisher,
    *,
    topics: ReplayTopics,
    replayed_at: datetime,
    report: Report,
) -> Summary:
    outcomes: list[Outcome] = []
    for start in range(0, len(leased), CHUNK_SIZE):
        chunk = leased[start : start + CHUNK_SIZE]
        for outcome in _replay_chunk(chunk, queue, republisher, topics, replayed_at):
            report(outcome)
            outcomes.append(outcome)
    return Summary(tuple(outcomes))


def _replay_chunk(
    chunk: Sequence[Leased],
    queue: LeaseHolder,
    republisher: Republisher,
    topics: ReplayTopics,
    replayed_at: datetime,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    replayable: list[tuple[Leased, ReplayMessage]] = []
    skipped: list[str] = []
    for item in chunk:
        try:
            replayable.append((item, build_replay_message(item.letter, replayed_at, topics)))
        except NotReplayable as exc:
            outcomes.append(Outcome(item.letter, Status.SKIPPED, f"not replayable, {exc}"))
            skipped.append(item.ack_id)
    queue.release(skipped)

    results = republisher.publish_all([message for _, message in replayable])
    confirmed = [
        (item, f"{result.message_id} to {message.topic}")
        for (item, message), result in zip(replayable, results, strict=True)
        if result.message_id is not None
    ]
    unconfirmed = [
        (item, result.error or "not confirmed")
        for (item, _), result in zip(replayable, results, strict=True)
        if result.message_id is None
    ]
    queue.release([item.ack_id for item, _ in unconfirmed])
    outcomes.extend(
        Outcome(item.letter, Status.FAILED, f"republish failed, it stays in the queue: {error}")
        for item, error in unconfirmed
    )
    outcomes.extend(_acknowledge(queue, confirmed))
    return outcomes


def _acknowledge(queue: LeaseHolder, confirmed: Sequence[tuple[Leased, str]]) -> list[Outcome]:
    """``confirmed``: each letter with its new message id and topic, as the report says it."""
    if not confirmed:
        return []
    try:
        queue.acknowledge([item.ack_id for item, _ in confirmed])
    except DlqError as exc:
        return [
            Outcome(
                item.letter,
                Status.FAILED,
                f"republished as message {published} but not acknowledged ({exc}); it stays "
                "in the queue and replaying it again is harmless",
            )
            for item, published in confirmed
        ]
    return [
        Outcome(item.letter, Status.REPLAYED, f"republished as message {published}")
        for item, published in confirmed
    ]


def purge(leased: Sequence[Leased], queue: LeaseHolder, *, report: Report) -> Summary:
    outcomes: list[Outcome] = []
    for start in range(0, len(leased), CHUNK_SIZE):
        chunk = leased[start : start + CHUNK_SIZE]
        try:
            queue.acknowledge([item.ack_id for item in chunk])
        except DlqError as exc:
            chunk_outcomes = [Outcome(item.letter, Status.FAILED, str(exc)) for item in chunk]
        else:
            chunk_outcomes = [Outcome(item.letter, Status.DROPPED) for item in chunk]
        for outcome in chunk_outcomes:
            report(outcome)
            outcomes.append(outcome)
    return Summary(tuple(outcomes))
