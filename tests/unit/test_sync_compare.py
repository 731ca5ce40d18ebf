"""Comparing an order as sent with the order as stored."""

from __future__ import annotations

from typing import Any

import pytest

from shared.tools.sync.compare import first_difference


@pytest.mark.parametrize(
    ("expected", "actual", "where"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, None),
        ({"amount": 2}, {"amount": 2.0}, None),
        ({"a": 1}, {"a": 2}, "/a"),
        ({"a": 1}, {"a": 1, "b": 2}, "/b"),
        ({"items": [{"q": 1}, {"q": 2}]}, {"items": [{"q": 1}, {"q": 3}]}, "/items/1/q"),
        ({"items": [1, 2]}, {"items": [1]}, "/items/1"),
        ({"flag": True}, {"flag": 1}, "/flag"),
        ({"id": "1"}, {"id": 1}, "/id"),
        ({"a/b": 1}, {"a/b": 2}, "/a~1b"),
        ({"a": {}}, {"a": []}, "/a"),
    ],
)
def test_first_difference(expected: Any, actual: Any, where: str | None) -> None:
    assert first_difference(expected, actual) == where
