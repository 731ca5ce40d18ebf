from __future__ import annotations

import pytest

from shared.domain.jsonbody import (
    MAX_FIRESTORE_DEPTH,
    FieldViolation,
    dump_json,
    json_pointer,
    parse_json,
    storage_violations,
)
from shared.errors import MalformedJson


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"a": 1', "line 1"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": -Infinity}', "Infinity"),
        (b'{"a": 1, "a": 2}', "duplicate member 'a'"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b"\xef\xbb\xbf{}", "line 1"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": ' + b"9" * 5000 + b"}", "digits"),
    ],
)
def test_malformed_json_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedJson, match=reason):
        parse_json(raw)


def test_plain_json_parses() -> None:
    assert parse_json('{"a": [1, 2.5, "ø", null, true]}'.encode()) == {
        "a": [1, 2.5, "ø", None, True]
    }


def test_dump_is_compact_utf8_and_refuses_non_finite_numbers() -> None:
    assert dump_json({"a": "ø", "b": [1]}) == '{"a":"ø","b":[1]}'.encode()
    with pytest.raises(ValueError, match="JSON compliant"):
        dump_json({"a": float("inf")})


def test_json_pointer_escapes_per_rfc6901() -> None:
    assert json_pointer(("customerOrder", "items", 0, "a/b~c")) == "/customerOrder/items/0/a~1b~0c"
    assert json_pointer(()) == ""


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [[1]]}, FieldViolation("/a/0", "an array must not directly contain an array")),
        ({"a": 2**63}, FieldViolation("/a", "integer is outside the 64-bit range")),
        ({"a": -(2**63) - 1}, FieldViolation("/a", "integer is outside the 64-bit range")),
        ({"a": float("nan")}, FieldViolation("/a", "number must be finite")),
        ({"": 1}, FieldViolation("", "member names must not be empty")),
        (
            {"__name__": 1},
            FieldViolation("/__name__", "member names of the form __name__ are reserved"),
        ),
        ({"a": "\ud800"}, FieldViolation("/a", "string contains an unpaired surrogate")),
    ],
)
def test_what_firestore_would_refuse_is_reported(value: object, expected: FieldViolation) -> None:
    assert storage_violations(value) == [expected]


def test_depth_limit_is_firestores() -> None:
    assert storage_violations(_nested(MAX_FIRESTORE_DEPTH)) == []
    violations = storage_violations(_nested(MAX_FIRESTORE_DEPTH + 1))
    assert len(violations) == 1
    assert "nested deeper" in violations[0].detail


def test_storable_values_pass() -> None:
    assert storage_violations({"a": [1, {"b": [2, "c"]}], "d": 2**63 - 1, "e": None}) == []
