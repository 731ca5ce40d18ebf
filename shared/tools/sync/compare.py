"""Comparing an order as sent with the order as stored."""

from __future__ import annotations

from typing import Any

from shared.domain.jsonbody import json_pointer


def first_difference(expected: Any, actual: Any, path: tuple[str | int, ...] = ()) -> str | None:
    """The JSON pointer of the first place ``actual`` differs from ``expected``, or ``None``.

    Numbers compare by value (another sender may spell ``2`` as ``2.0``), but a
    boolean never equals a number, nor a string anything else.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in expected or key not in actual:
                return json_pointer((*path, key))
            found = first_difference(expected[key], actual[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(left, right, (*path, index))
            if found is not None:
                return found
        if len(expected) != len(actual):
            return json_pointer((*path, min(len(expected), len(actual))))
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected is actual else json_pointer(path)
    return None if expected == actual else json_pointer(path)
