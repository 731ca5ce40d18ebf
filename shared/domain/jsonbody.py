"""Strict JSON decoding and the checks that make a body storable in Firestore."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.errors import MalformedJson

# Firestore's own limits: a map or array may nest at most 20 deep, and integers are int64.
MAX_FIRESTORE_DEPTH = 20
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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


def storage_violations(value: Any, path: tuple[str | int, ...] = ()) -> list[FieldViolation]:
    """What Firestore (or a UTF-8 transport) would refuse in ``value``, as field violations."""
    return list(_walk(value, path, depth=0))


def _walk(value: Any, path: tuple[str | int, ...], depth: int) -> Iterator[FieldViolation]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            yield FieldViolation(json_pointer(path), "integer is outside the 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield FieldViolation(json_pointer(path), "number must be finite")
    elif isinstance(value, str):
        if not _is_encodable(value):
            yield FieldViolation(json_pointer(path), "string contains an unpaired surrogate")
    elif isinstance(value, dict):
        if depth >= MAX_FIRESTORE_DEPTH:
            yield FieldViolation(
                json_pointer(path), f"nested deeper than {MAX_FIRESTORE_DEPTH} levels"
            )
            return
        for key, member in value.items():
            if not key:
                yield FieldViolation(json_pointer(path), "member names must not be empty")
            elif not _is_encodable(key):
                yield FieldViolation(
                    json_pointer(path), "member name contains an unpaired surrogate"
                )
            elif key.startswith("__") and key.endswith("__") and len(key) >= 4:
                yield FieldViolation(
                    json_pointer((*path, key)), "member names of the form __name__ are reserved"
                )
            else:
                yield from _walk(member, (*path, key), depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_FIRESTORE_DEPTH:
            yield FieldViolation(
                json_pointer(path), f"nested deeper than {MAX_FIRESTORE_DEPTH} levels"
            )
            return
        for index, member in enumerate(value):
            if isinstance(member, list):
                yield FieldViolation(
                    json_pointer((*path, index)), "an array must not directly contain an array"
                )
            else:
                yield from _walk(member, (*path, index), depth + 1)


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
