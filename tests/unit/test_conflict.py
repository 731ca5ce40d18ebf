"""The conflict rule over every combination of source version and receivedAt."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.conflict import (
    MAX_SOURCE_VERSION,
    Decision,
    Rule,
    Verdict,
    Version,
    decide,
    parse_source_version,
)
from shared.errors import InvalidSourceVersion

T0 = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
STORED_VERSION = 5
ONE = timedelta(microseconds=1)

# The incoming source version relative to a stored 5, or to a stored absent one.
SOURCES = {"absent": None, "lower": 4, "equal": 5, "higher": 6}
TIMES = {"older": T0 - ONE, "equal": T0, "newer": T0 + ONE}


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
    assert decide(incoming, stored) == _expected(source, time, stored_versioned=True)


@pytest.mark.parametrize(("source", "time"), list(itertools.product(SOURCES, TIMES)))
def test_against_an_unversioned_stored_order(source: str, time: str) -> None:
    incoming = Version(TIMES[time], SOURCES[source])
    assert decide(incoming, Version(T0)) == _expected(source, time, stored_versioned=False)


@pytest.mark.parametrize("source", list(SOURCES.values()))
def test_nothing_stored_is_written(source: int | None) -> None:
    assert decide(Version(T0, source), None) == Verdict(Decision.WRITE, Rule.FIRST)


def test_the_order_is_total_and_never_moves_backwards() -> None:
    versions = [
        Version(T0 + offset * ONE, source)
        for source, offset in itertools.product([None, 0, 1, MAX_SOURCE_VERSION], [-1, 0, 1])
    ]
    for stored, incoming in itertools.permutations(versions, 2):
        forward = decide(incoming, stored).writes
        backward = decide(stored, incoming).writes
        assert forward != backward, (stored, incoming)


def test_the_same_instant_in_another_offset_is_equal() -> None:
    other_zone = T0.astimezone(datetime.now().astimezone().tzinfo)
    assert decide(Version(other_zone), Version(T0)).decision is Decision.SKIP_DUPLICATE
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
