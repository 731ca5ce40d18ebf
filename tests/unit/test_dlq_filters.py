"""--order, --business-unit, --older-than and --limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.tools.dlq.filters import Selection, parse_duration, select, unmatched_orders
from shared.tools.dlq.records import DeadLetter, OrderRef
from tests.dlq.samples import NOW, dead_letter, order_message


def _letters() -> list[DeadLetter]:
    return [
        dead_letter(
            order_message("BU1", "A"), message_id="1", dead_lettered_at=NOW - timedelta(minutes=10)
        ),
        dead_letter(
            order_message("BU1", "B"), message_id="2", dead_lettered_at=NOW - timedelta(hours=3)
        ),
        dead_letter(
            order_message("BU2", "A"), message_id="3", dead_lettered_at=NOW - timedelta(days=2)
        ),
    ]


def _ids(letters: list[DeadLetter]) -> list[str]:
    return [letter.message_id for letter in letters]


def _select(selection: Selection) -> list[str]:
    return _ids(select(_letters(), selection, NOW, letter_of=lambda letter: letter))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "m", "2w", "-1h", "1.5h", "1 h", "h1"])
def test_malformed_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a number with a unit"):
        parse_duration(text)


def test_no_filter_selects_everything_longest_in_the_queue_first() -> None:
    assert _select(Selection()) == ["3", "2", "1"]


def test_order_filter_takes_business_unit_and_id_together() -> None:
    assert _select(Selection(orders=frozenset({OrderRef("BU1", "A")}))) == ["1"]
    assert _select(Selection(orders=frozenset({OrderRef("BU1", "A"), OrderRef("BU2", "A")}))) == [
        "3",
        "1",
    ]


def test_business_unit_filter() -> None:
    assert _select(Selection(business_unit_id="BU1")) == ["2", "1"]


def test_older_than_compares_the_time_in_the_queue() -> None:
    assert _select(Selection(older_than=timedelta(hours=1))) == ["3", "2"]
    assert _select(Selection(older_than=timedelta(hours=3))) == ["3"]


def test_limit_takes_the_oldest_after_filtering() -> None:
    assert _select(Selection(business_unit_id="BU1", limit=1)) == ["2"]


def test_filters_combine() -> None:
    assert _select(Selection(business_unit_id="BU1", older_than=timedelta(hours=1))) == ["2"]


def test_named_orders_without_any_letter_are_reported() -> None:
    selection = Selection(orders=frozenset({OrderRef("BU1", "A"), OrderRef("BU9", "X")}))

    assert unmatched_orders(_letters(), selection) == [OrderRef("BU9", "X")]


def test_only_limit_does_not_narrow_the_selection() -> None:
    assert not Selection(limit=3).narrows
    assert Selection(business_unit_id="BU1").narrows
    assert Selection(older_than=timedelta(0)).narrows
