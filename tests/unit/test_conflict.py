"""The conflict rule: the version rule over every combination of source version and receivedAt,
and the decision table over every change (OMS update, cancellation, unpicking; a store's
ready and pickup), every standing and every relation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.conflict import (
    MAX_SOURCE_VERSION,
    OMS_RELATIONS,
    STORE_RELATIONS,
    TABLE,
    Change,
    Decision,
    Relation,
    Rule,
    Standing,
    Statuses,
    Stored,
    Verdict,
    Version,
    decide,
    decide_update,
    parse_source_version,
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


# --- The decision table: what was handed out, cancellations, and the store's updates ----

PICKED_UP_AT = T0 + timedelta(minutes=5)
# An order whose OMS version 5 was received at T0, and of which a store handed something
# out later. An OMS version against it: sent before or after the pickup, of a lower, the
# same or a higher source version.
STORED = Version(T0, STORED_VERSION)
WHEN = {"before the pickup": PICKED_UP_AT - ONE, "after the pickup": PICKED_UP_AT + ONE}
SOURCE = {"lower": STORED_VERSION - 1, "same": STORED_VERSION, "higher": STORED_VERSION + 1}
STORE_CHANGES = (Change.READY, Change.PICKUP)
OMS_CHANGES = (Change.UPDATE, Change.CANCELLATION, Change.UNPICKING)


@pytest.mark.parametrize(("when", "source"), list(itertools.product(WHEN, SOURCE)))
@pytest.mark.parametrize("change", [Change.CANCELLATION, Change.UNPICKING])
def test_nothing_that_cancels_what_was_handed_out_is_stored_whatever_its_version(
    change: Change, when: str, source: str
) -> None:
    incoming = Version(WHEN[when], SOURCE[source])
    verdict = decide(change, incoming, Stored(STORED, Standing.PICKED_UP))
    assert verdict == Verdict(Decision.REFUSE_CANCELLATION, Rule.PICKUP)


@pytest.mark.parametrize(("when", "source"), list(itertools.product(WHEN, SOURCE)))
def test_an_oms_version_keeping_what_was_handed_out_meets_it_by_the_version_rule(
    when: str, source: str
) -> None:
    incoming = Version(WHEN[when], SOURCE[source])
    verdict = decide(Change.UPDATE, incoming, Stored(STORED, Standing.PICKED_UP))
    # A store update is no version: the OMS's version is compared with the OMS's alone.
    assert verdict == _decide(incoming, STORED)


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


@pytest.mark.parametrize("standing", [Standing.OPEN, Standing.CANCELLED])
def test_an_unpicking_needs_something_handed_out(standing: Standing) -> None:
    # Nothing handed out: no OMS version can take it back, so the table has no such case.
    with pytest.raises(ValueError, match="cannot occur"):
        decide(Change.UNPICKING, Version(PICKED_UP_AT), Stored(STORED, standing))


# What each relation of a store update means, against an order that allows updates.
BY_FIT = {
    Relation.REPEATED: Decision.SKIP_DUPLICATE,
    Relation.REUSED: Decision.REFUSE_UPDATE_ID_REUSED,
    Relation.SUPERSEDED: Decision.SKIP_SUPERSEDED,
    Relation.FITS: Decision.WRITE,
    Relation.ALL_PICKED_UP: Decision.REFUSE_ALREADY_PICKED_UP,
    Relation.ALL_READY: Decision.REFUSE_ALREADY_READY,
    Relation.EXCEEDS: Decision.REFUSE_EXCEEDS,
    Relation.UNKNOWN_ITEM: Decision.REFUSE_UNKNOWN_ITEM,
    Relation.NO_FULFILLMENT: Decision.REFUSE_NO_FULFILLMENT,
    Relation.AMBIGUOUS: Decision.REFUSE_AMBIGUOUS,
    Relation.WAREHOUSE: Decision.REFUSE_WAREHOUSE,
    Relation.TENDER_RECORDED: Decision.REFUSE_TENDER_RECORDED,
    Relation.NOT_YOURS: Decision.REFUSE_FORBIDDEN,
}


@pytest.mark.parametrize("relation", list(STORE_RELATIONS))
@pytest.mark.parametrize("standing", list(Standing))
@pytest.mark.parametrize("change", list(STORE_CHANGES))
def test_a_store_update_against_every_standing_and_relation(
    change: Change, standing: Standing, relation: Relation
) -> None:
    if standing is Standing.ABSENT:
        expected = Decision.REFUSE_ABSENT
    elif standing is Standing.CANCELLED and relation not in (
        Relation.REPEATED,
        Relation.SUPERSEDED,
        Relation.NOT_YOURS,
    ):
        # Nothing is readied nor handed out of a cancelled order; its retry is still its
        # answer, and another store's fulfillment still not the caller's.
        expected = Decision.REFUSE_CANCELLED
    else:
        # Open or partly handed out: the update's fit decides, the same either way.
        expected = BY_FIT[relation]
    assert decide_update(change, standing, relation) == Verdict(expected, Rule.STORE)


def test_the_table_has_every_case_that_can_occur_and_no_other() -> None:
    expected: set[tuple[Change, Standing, Relation]] = set()
    for change, standing in itertools.product(OMS_CHANGES, Standing):
        if change is Change.UNPICKING and standing is not Standing.PICKED_UP:
            # Nothing handed out, nothing to take back.
            continue
        if standing is Standing.ABSENT:
            # The first version is newer than nothing.
            expected.add((change, standing, Relation.NEWER))
        else:
            expected |= {(change, standing, relation) for relation in OMS_RELATIONS}
    expected |= set(itertools.product(STORE_CHANGES, Standing, STORE_RELATIONS))
    assert set(TABLE) == expected
    # Only a store update that fits, or an OMS version that is newer, ever writes.
    writing = {key for key, decision in TABLE.items() if decision.writes}
    assert {relation for _, _, relation in writing} == {Relation.NEWER, Relation.FITS}


@pytest.mark.parametrize("change", list(STORE_CHANGES))
def test_store_updates_and_oms_versions_are_decided_by_their_own_entry(change: Change) -> None:
    with pytest.raises(ValueError, match="decide_update"):
        decide(change, Version(T0), None)
    with pytest.raises(ValueError, match="decided by decide"):
        decide_update(Change.UPDATE, Standing.OPEN, Relation.FITS)


def test_statuses_say_what_cancels_and_what_is_stored() -> None:
    statuses = Statuses(cancelled=frozenset({"CANCELLED", "VOIDED"}))
    assert statuses.is_cancellation("VOIDED")
    assert statuses.is_cancellation("CANCELLED")
    assert not statuses.is_cancellation("cancelled")
    assert statuses.standing_of("CREATED", picked_up_any=False) is Standing.OPEN
    assert statuses.standing_of("VOIDED", picked_up_any=False) is Standing.CANCELLED
    # Picked up once anything is handed out, whatever status a later OMS version brought.
    assert statuses.standing_of("SHIPPED", picked_up_any=True) is Standing.PICKED_UP
    assert statuses.standing_of("VOIDED", picked_up_any=True) is Standing.PICKED_UP
    assert Statuses() == Statuses(frozenset({"CANCELLED"}))
