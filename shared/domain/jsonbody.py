"""Strict JSON decoding, the encoding of every JSON this service writes, and JSON pointers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.domain.limits import MAX_JSON_NESTING
from shared.errors import MalformedJson, one_line

_CONTAINERS = frozenset({dict, list})
TOO_DEEP = (
    f"JSON is nested deeper than the {MAX_JSON_NESTING} levels of arrays and objects accepted"
)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    pointer: str
    detail: str


def _reject_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJson(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse_json(raw: bytes) -> Any:
    """Decode UTF-8 JSON from outside, refusing what ``json.loads`` would otherwise let through.

    NaN and Infinity literals, duplicate member names, a byte-order mark, invalid
    UTF-8 and nesting deeper than :data:`MAX_JSON_NESTING` are all malformed here
    (RFC 8259 section 9 lets a parser bound the depth); the OMS must send plain JSON.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise MalformedJson("body is empty")
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise MalformedJson(TOO_DEEP) from None
    except ValueError as exc:
        # Integers past the interpreter's digit limit land here.
        raise MalformedJson(str(exc).split(";")[0]) from None
    if nesting_depth(value) > MAX_JSON_NESTING:
        raise MalformedJson(TOO_DEEP)
    return value


def parse_accepted_json(raw: bytes) -> Any:
    """A body accepted before (stored, published or dead-lettered), parsed as it is.

    Not checked again the way :func:`parse_json` checks the door's: what a release
    accepted is read as it was accepted. Every depth the door accepts parses here
    wherever this runs; a body deeper than the stack left here allows (stored by a
    release before the limit, or a hand-made message) is :class:`MalformedJson` like
    any other that does not parse, never a ``RecursionError``.
    """
    try:
        return json.loads(raw)
    except RecursionError:
        raise MalformedJson("JSON is nested deeper than this parse can go") from None
    except ValueError as exc:
        # JSONDecodeError, UnicodeDecodeError, and integers past the digit limit.
        raise MalformedJson(one_line(exc, named=False)) from None


def nesting_depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed value: 0 for a scalar, 1 for ``[]``.

    A level at a time rather than recursively, so that no depth can exhaust the stack;
    it stops counting one past :data:`MAX_JSON_NESTING`. Exact types, as ``json.loads``
    makes them: ``isinstance`` made this walk cost a third of the parse.
    """
    depth = 0
    level = [value] if type(value) in _CONTAINERS else []
    while level and depth <= MAX_JSON_NESTING:
        depth += 1
        level = [
            child
            for container in level
            for child in (container.values() if type(container) is dict else container)
            if type(child) in _CONTAINERS
        ]
    return depth


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding of every message this service publishes.

    A lone surrogate (from a ``\\ud800`` escape, which parses, in a member no rule
    checks) has no UTF-8 form; it can only stand in a string, where ``backslashreplace``
    writes the very escape it was parsed from, so the output parses to the same value.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


def json_pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 pointer of a location, e.g. ``/customerOrder/items/0``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
