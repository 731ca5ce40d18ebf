"""The conflict rule: the version rule over every combination of source version and receivedAt,
and the decision table over every change (update, cancellation, pickup) and standing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.conflict import (
    MAX_SOURCE_VERSION,
    TABLE,
    Change,
    Decision,
    Order,
    Rule,
    Standing,
    Statuses,
    Stored,
    Verdict,
    Version,
    decide,
    parse_source_version,
    pickup_version,
)
from shared.errors import InvalidSourceVersion

T0 = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
STORED_VERSION = 5
ONE = timedelta(microseconds=1)

# The incoming source version relative to a stored 5, or to a stored absent one.
SOURCES = {"absent": None, "lower": 4, "equal": 5, "higher": 6}
TIMES = {"older": T0 - ONE, "equal": T0, "newer": T0 + ONE}


def _decide(incoming: Version, stored: Version | None) -> Verdict:
    """An OMS update against an open order: the version rule alone."""
    return decide(
        Change.UPDATE, incoming, None if stored is None else Stored(stored, Standing.OPEN)
    )


def _expected(source: str, time: str, stored_versioned: bool) -> Verdict:
    if not stored_versioned:
        # Nothing to compare versions with: any version beats none; absent vs absent by time.
        if source != "absent":
            return Verdict(Decision.WRITE, Rule.SOURCE_VERSION)
        return _by_time(time)
    if source in ("absent", "lower"):
        return Verdict(Decision.SKIP_STALE, Rule.SOURCE_VERSION)
    if source == "higher":
        return Verdict(Decision.WRITE, Rule.SOURCE_VERSION)
    return _by_time(time)


def _by_time(time: str) -> Verdict:
    decision = {
        "older": Decision.SKIP_STALE,
        "equal": Decision.SKIP_DUPLICATE,
        "newer": Decision.WRITE,
    }[time]
    return Verdict(decision, Rule.RECEIVED_AT)


@pytest.mark.parametrize(("source", "time"), list(itertools.product(SOURCES, TIMES)))
def test_against_a_versioned_stored_order(source: str, time: str) -> None:
    incoming = Version(TIMES[time], SOURCES[source])
    stored = Version(T0, STORED_VERSION)
    assert _decide(incoming, stored) == _expected(source, time, stored_versioned=True)


@pytest.mark.parametrize(("source", "time"), list(itertools.product(SOURCES, TIMES)))
def test_against_an_unversioned_stored_order(source: str, time: str) -> None:
    incoming = Version(TIMES[time], SOURCES[source])
    assert _decide(incoming, Version(T0)) == _expected(source, time, stored_versioned=False)


@pytest.mark.parametrize("source", list(SOURCES.values()))
def test_nothing_stored_is_written(source: int | None) -> None:
    assert _decide(Version(T0, source), None) == Verdict(Decision.WRITE, Rule.FIRST)


def test_the_order_is_total_and_never_moves_backwards() -> None:
    versions = [
        Version(T0 + offset * ONE, source)
        for source, offset in itertools.product([None, 0, 1, MAX_SOURCE_VERSION], [-1, 0, 1])
    ]
    for stored, incoming in itertools.permutations(versions, 2):
        forward = _decide(incoming, stored).writes
        backward = _decide(stored, incoming).writes
        assert forward != backward, (stored, incoming)


def test_the_same_instant_in_another_offset_is_equal() -> None:
    # Two offsets whose wall clocks differ, whatever the machine's zone: a comparison of
    # wall clocks would call one of them newer.
    west = T0.astimezone(timezone(timedelta(hours=-5)))
    east = T0.astimezone(timezone(timedelta(hours=9, minutes=30)))
    assert west.replace(tzinfo=None) != east.replace(tzinfo=None)
    assert _decide(Version(west), Version(east)).decision is Decision.SKIP_DUPLICATE
    assert _decide(Version(east), Version(west)).decision is Decision.SKIP_DUPLICATE
    assert not Decision.SKIP_DUPLICATE.writes
    assert not Decision.SKIP_STALE.writes


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("42", 42), (" 7 ", 7), ("007", 7), (str(2**63 - 1), 2**63 - 1)]
)
def test_source_versions_are_decimal_integers_below_2_to_the_63(text: str, value: int) -> None:
    assert parse_source_version(text) == value


@pytest.mark.parametrize(
    "text", ["-1", str(2**63), "1.5", "abc", "", " ", "1, 2", "+1", "1e3", "0x10", "١٢"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidSourceVersion, match="Source-Version"):
        parse_source_version(text)


# --- The decision table: pickups and cancellations ---------------------------------------

PICKED_UP_AT = T0 + timedelta(minutes=5)
# The stored pickup version of an order whose OMS version 5 was received at T0.
PICKUP = pickup_version(Version(T0, STORED_VERSION), PICKED_UP_AT)
# An OMS version against that pickup: sent before or after it, of a lower, the same or
# a higher source version.
WHEN = {"before the pickup": PICKED_UP_AT - ONE, "after the pickup": PICKED_UP_AT + ONE}
SOURCE = {"lower": STORED_VERSION - 1, "same": STORED_VERSION, "higher": STORED_VERSION + 1}


@pytest.mark.parametrize(
    ("standing", "expected"),
    [
        (Standing.ABSENT, Decision.REFUSE_ABSENT),
        (Standing.OPEN, Decision.WRITE),
        (Standing.CANCELLED, Decision.REFUSE_CANCELLED),
        (Standing.PICKED_UP, Decision.SKIP_DUPLICATE),
    ],
)
def test_a_pickup_against_each_standing(standing: Standing, expected: Decision) -> None:
    stored = None if standing is Standing.ABSENT else Stored(Version(T0, STORED_VERSION), standing)
    assert decide(Change.PICKUP, None, stored) == Verdict(expected, Rule.PICKUP)


@pytest.mark.parametrize(("when", "source"), list(itertools.product(WHEN, SOURCE)))
def test_no_cancellation_is_stored_after_a_pickup_whatever_its_version(
    when: str, source: str
) -> None:
    incoming = Version(WHEN[when], SOURCE[source])
    verdict = decide(Change.CANCELLATION, incoming, Stored(PICKUP, Standing.PICKED_UP))
    assert verdict == Verdict(Decision.REFUSE_CANCELLATION, Rule.PICKUP)


@pytest.mark.parametrize(("when", "source"), list(itertools.product(WHEN, SOURCE)))
def test_any_other_oms_version_meets_a_pickup_by_the_version_rule(when: str, source: str) -> None:
    incoming = Version(WHEN[when], SOURCE[source])
    verdict = decide(Change.UPDATE, incoming, Stored(PICKUP, Standing.PICKED_UP))
    if source == "higher" or (source == "same" and when == "after the pickup"):
        assert verdict.decision is Decision.WRITE
    else:
        # Older than the pickup, which is itself a version of the order.
        assert verdict.decision is Decision.SKIP_STALE
    assert verdict.rule is (Rule.RECEIVED_AT if source == "same" else Rule.SOURCE_VERSION)


@pytest.mark.parametrize(("when", "source"), list(itertools.product(WHEN, SOURCE)))
@pytest.mark.parametrize("change", [Change.UPDATE, Change.CANCELLATION])
@pytest.mark.parametrize("standing", [Standing.OPEN, Standing.CANCELLED])
def test_without_a_pickup_a_cancellation_is_a_version_like_any_other(
    change: Change, standing: Standing, when: str, source: str
) -> None:
    stored = Version(PICKED_UP_AT, STORED_VERSION)
    incoming = Version(WHEN[when], SOURCE[source])
    assert decide(change, incoming, Stored(stored, standing)) == _decide(incoming, stored)


@pytest.mark.parametrize("change", [Change.UPDATE, Change.CANCELLATION])
def test_the_first_version_of_any_kind_is_written(change: Change) -> None:
    assert decide(change, Version(T0), None) == Verdict(Decision.WRITE, Rule.FIRST)


def test_the_table_decides_every_change_against_every_standing() -> None:
    for change, standing in itertools.product(Change, Standing):
        if (change, standing, Order.ANY) in TABLE:
            continue
        for order in (Order.NEWER, Order.SAME, Order.OLDER):
            assert (change, standing, order) in TABLE, (change, standing, order)
    # Only a pickup, and only into an open order, writes without a version comparison.
    unconditional = [
        key for key, decision in TABLE.items() if key[2] is Order.ANY and decision.writes
    ]
    assert sorted(unconditional, key=str) == sorted(
        [
            (Change.UPDATE, Standing.ABSENT, Order.ANY),
            (Change.CANCELLATION, Standing.ABSENT, Order.ANY),
            (Change.PICKUP, Standing.OPEN, Order.ANY),
        ],
        key=str,
    )


def test_the_pickup_version_follows_the_stored_one() -> None:
    assert Version(PICKED_UP_AT, STORED_VERSION) == PICKUP
    # A POS instance whose clock is behind the one that received the stored version.
    assert pickup_version(Version(T0, 3), T0 - timedelta(seconds=2)) == Version(T0 + ONE, 3)
    assert pickup_version(Version(T0), T0) == Version(T0 + ONE)


def test_statuses_say_what_a_change_does_and_what_is_stored() -> None:
    statuses = Statuses(picked_up="COLLECTED", cancelled=frozenset({"CANCELLED", "VOIDED"}))
    assert statuses.change_of("VOIDED") is Change.CANCELLATION
    assert statuses.change_of("CANCELLED") is Change.CANCELLATION
    assert statuses.change_of("COLLECTED") is Change.UPDATE
    assert statuses.change_of("cancelled") is Change.UPDATE
    assert statuses.standing_of("CREATED", None) is Standing.OPEN
    assert statuses.standing_of("VOIDED", None) is Standing.CANCELLED
    # Picked up once a pickup is recorded, whatever status a later OMS version brought.
    assert statuses.standing_of("SHIPPED", PICKED_UP_AT) is Standing.PICKED_UP
    assert Statuses() == Statuses("PICKED_UP", frozenset({"CANCELLED"}))
