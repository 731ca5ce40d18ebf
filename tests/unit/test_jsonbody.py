from __future__ import annotations

import pytest

from shared.domain.jsonbody import (
    dump_json,
    json_pointer,
    parse_json,
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
