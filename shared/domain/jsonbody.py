"""Strict JSON decoding, the encoding of every JSON this service writes, and JSON pointers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.errors import MalformedJson


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
    """Decode UTF-8 JSON, refusing what ``json.loads`` would otherwise let through.

    NaN and Infinity literals, duplicate member names, a byte-order mark and
    invalid UTF-8 are all malformed here; the OMS must send plain RFC 8259 JSON.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise MalformedJson("body is empty")
    try:
        return json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise MalformedJson("JSON is nested too deeply") from None
    except ValueError as exc:
        # Integers past the interpreter's digit limit land here.
        raise MalformedJson(str(exc).split(";")[0]) from None


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding of every message this service publishes."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8"
    )


def json_pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 pointer of a location, e.g. ``/customerOrder/items/0``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
