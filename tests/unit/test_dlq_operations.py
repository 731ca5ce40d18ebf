"""Replay and purge against in-memory ports: ack only after the republish is confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from shared.tools.dlq.operations import (
    CHUNK_SIZE,
    Leased,
    Outcome,
    PublishResult,
    Status,
    purge,
    replay,
)
from shared.tools.dlq.replay_message import ReplayMessage, ReplayTopics
from shared.tools.errors import DlqError
from tests.dlq.samples import NOW, dead_letter, order_message

TOPICS = ReplayTopics(orders="projects/p/topics/orders", store_updates="projects/p/topics/updates")


class FakeQueue:
    def __init__(self, *, ack_fails: bool = False) -> None:
        self.acked: list[str] = []
        self.released: list[str] = []
        self.events: list[str] = []
        self.ack_fails = ack_fails

    def acknowledge(self, ack_ids: Sequence[str]) -> None:
        if self.ack_fails:
            raise DlqError("Pub/Sub did not answer")
        self.acked.extend(ack_ids)
        self.events.extend(f"ack {ack_id}" for ack_id in ack_ids)

    def release(self, ack_ids: Sequence[str]) -> None:
        self.released.extend(ack_ids)


class FakeRepublisher:
    """Confirms every message except those of the orders in ``failing``."""

    def __init__(self, queue: FakeQueue, failing: frozenset[str] = frozenset()) -> None:
        self.queue = queue
        self.failing = failing
        self.published: list[ReplayMessage] = []

    def publish_all(self, messages: Sequence[ReplayMessage]) -> list[PublishResult]:
        results = []
        for message in messages:
            if message.ordering_key in self.failing:
                results.append(PublishResult(error="NotFound: 404 Topic not found"))
                continue
            self.published.append(message)
            self.queue.events.append(f"confirmed {message.ordering_key}")
            results.append(PublishResult(message_id=f"new-{len(self.published)}"))
        return results


def _leased(order_id: str, ack_id: str, *, age: timedelta = timedelta(hours=1)) -> Leased:
    letter = dead_letter(
        order_message("BU1", order_id), message_id=ack_id, dead_lettered_at=NOW - age
    )
    return Leased(ack_id, letter)


def _replay(
    leased: list[Leased], queue: FakeQueue, republisher: FakeRepublisher
) -> tuple[list[Outcome], list[Outcome]]:
    reported: list[Outcome] = []
    summary = replay(
        leased, queue, republisher, topics=TOPICS, replayed_at=NOW, report=reported.append
    )
    return list(summary.outcomes), reported


def test_a_message_is_acknowledged_only_after_its_republish_is_confirmed() -> None:
    queue = FakeQueue()
    republisher = FakeRepublisher(queue)

    outcomes, reported = _replay([_leased("A", "a1"), _leased("B", "b1")], queue, republisher)

    assert queue.events == ["confirmed BU1/A", "confirmed BU1/B", "ack a1", "ack b1"]
    assert [outcome.status for outcome in outcomes] == [Status.REPLAYED, Status.REPLAYED]
    assert outcomes[0].detail == "republished as message new-1 to projects/p/topics/orders"
    assert reported == outcomes
    assert queue.released == []


def test_a_failed_republish_is_released_not_acknowledged_and_the_rest_goes_on() -> None:
    queue = FakeQueue()
    republisher = FakeRepublisher(queue, failing=frozenset({"BU1/A"}))

    outcomes, _ = _replay([_leased("A", "a1"), _leased("B", "b1")], queue, republisher)

    assert queue.acked == ["b1"]
    assert queue.released == ["a1"]
    statuses = {outcome.letter.message_id: outcome.status for outcome in outcomes}
    assert statuses == {"a1": Status.FAILED, "b1": Status.REPLAYED}


def test_an_undecodable_message_is_skipped_released_and_not_published() -> None:
    queue = FakeQueue()
    republisher = FakeRepublisher(queue)
    broken = Leased("x1", dead_letter(data=b"not json", message_id="x1"))

    outcomes, _ = _replay([broken, _leased("B", "b1")], queue, republisher)

    assert [message.ordering_key for message in republisher.published] == ["BU1/B"]
    assert queue.released == ["x1"]
    assert queue.acked == ["b1"]
    assert outcomes[0].status is Status.SKIPPED
    assert "undecodable" in outcomes[0].detail


def test_a_failed_acknowledgement_after_a_confirmed_republish_counts_as_failed() -> None:
    queue = FakeQueue(ack_fails=True)
    republisher = FakeRepublisher(queue)

    outcomes, _ = _replay([_leased("A", "a1")], queue, republisher)

    assert [outcome.status for outcome in outcomes] == [Status.FAILED]
    assert (
        "republished as message new-1 to projects/p/topics/orders but not acknowledged"
        in outcomes[0].detail
    )


def test_long_runs_are_republished_and_acknowledged_chunk_by_chunk() -> None:
    queue = FakeQueue()
    republisher = FakeRepublisher(queue)
    leased = [_leased(f"O{n}", f"m{n}") for n in range(CHUNK_SIZE + 1)]

    outcomes, _ = _replay(leased, queue, republisher)

    first_ack = queue.events.index("ack m0")
    assert queue.events[first_ack - 1] == f"confirmed BU1/O{CHUNK_SIZE - 1}"
    assert queue.events[-2:] == [f"confirmed BU1/O{CHUNK_SIZE}", f"ack m{CHUNK_SIZE}"]
    assert len(outcomes) == CHUNK_SIZE + 1


def test_summary_counts_each_status() -> None:
    queue = FakeQueue()
    republisher = FakeRepublisher(queue, failing=frozenset({"BU1/A"}))
    leased = [_leased("A", "a1"), _leased("B", "b1"), Leased("x1", dead_letter(data=b"?"))]

    summary = replay(
        leased, queue, republisher, topics=TOPICS, replayed_at=NOW, report=lambda _: None
    )

    assert (summary.count(Status.REPLAYED), summary.count(Status.SKIPPED)) == (1, 1)
    assert summary.count(Status.FAILED) == 1
    assert summary.failed


def test_purge_acknowledges_and_reports_each_message() -> None:
    queue = FakeQueue()
    reported: list[Outcome] = []
    leased = [_leased("A", "a1", age=timedelta(days=1)), _leased("B", "b1")]

    summary = purge(leased, queue, report=reported.append)

    assert queue.acked == ["a1", "b1"]
    assert [outcome.status for outcome in reported] == [Status.DROPPED, Status.DROPPED]
    assert not summary.failed


def test_purge_reports_a_failed_acknowledgement() -> None:
    summary = purge([_leased("A", "a1")], FakeQueue(ack_fails=True), report=lambda _: None)

    assert summary.failed
    assert summary.outcomes[0].detail == "Pub/Sub did not answer"
