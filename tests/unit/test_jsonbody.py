from __future__ import annotations

import sys

import pytest

from shared.domain.jsonbody import (
    dump_json,
    json_pointer,
    nesting_depth,
    parse_accepted_json,
    parse_json,
)
from shared.domain.limits import MAX_JSON_NESTING
from shared.errors import MalformedJson


def nested(depth: int, innermost: str = "0") -> bytes:
    """A JSON document of ``depth`` arrays and objects within each other."""
    opening = "".join('{"a":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return (opening + innermost + closing).encode()


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
        (b"[" * 100_000 + b"]" * 100_000, f"deeper than the {MAX_JSON_NESTING} levels"),
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


def test_dump_writes_a_lone_surrogate_as_the_escape_it_was_parsed_from() -> None:
    # The door accepts {"note": "\\ud800"}; its re-encoding raised UnicodeEncodeError.
    parsed = parse_json(b'{"note": "a\\ud800b", "\\udfff": 1}')
    assert dump_json(parsed) == b'{"note":"a\\ud800b","\\udfff":1}'
    assert parse_json(dump_json(parsed)) == parsed


def test_json_pointer_escapes_per_rfc6901() -> None:
    assert json_pointer(("customerOrder", "items", 0, "a/b~c")) == "/customerOrder/items/0/a~1b~0c"
    assert json_pointer(()) == ""


@pytest.mark.parametrize(
    ("value", "depth"),
    [(0, 0), ("x", 0), ([], 1), ({}, 1), ([[]], 2), ({"a": [1, {"b": []}], "c": {}}, 4)],
)
def test_nesting_depth_counts_arrays_and_objects_within_each_other(
    value: object, depth: int
) -> None:
    assert nesting_depth(value) == depth


def test_a_body_at_the_nesting_limit_parses_and_one_level_deeper_is_refused_naming_it() -> None:
    assert nesting_depth(parse_json(nested(MAX_JSON_NESTING))) == MAX_JSON_NESTING
    with pytest.raises(MalformedJson, match=f"deeper than the {MAX_JSON_NESTING} levels"):
        parse_json(nested(MAX_JSON_NESTING + 1))


def test_a_body_too_deep_for_the_stack_is_refused_as_too_deep_too() -> None:
    with pytest.raises(MalformedJson, match=f"deeper than the {MAX_JSON_NESTING} levels"):
        parse_json(nested(sys.getrecursionlimit() + 1))


@pytest.mark.parametrize(
    "raw",
    [
        nested(sys.getrecursionlimit() + 1),
        b"[" * 100_000,
        b'{"a": "\xff"}',
        b"",
        b"9" * 5000,
    ],
    ids=["too-deep", "unclosed", "invalid-utf8", "empty", "digits"],
)
def test_an_accepted_body_that_does_not_parse_is_malformed_json_never_another_error(
    raw: bytes,
) -> None:
    with pytest.raises(MalformedJson):
        parse_accepted_json(raw)
