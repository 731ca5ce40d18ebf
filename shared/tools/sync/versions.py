"""Where a record's source version is, and reading it.

By default a record may carry one in a top-level ``sourceVersion`` member, beside
``businessUnitId`` and ``customerOrder``; a record without it is unversioned.
``--version-pointer`` names another place instead, as an RFC 6901 JSON pointer
into the *record* (so ``/customerOrder/revision`` reads the order's own field
and ``/meta/rev`` an envelope member of the export), and there a version is
required. Either way the value is a JSON integer or a string of decimal digits
from 0 to 2^63 - 1, what the service's ``Source-Version`` header takes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from shared.domain.conflict import MAX_SOURCE_VERSION, parse_source_version
from shared.domain.jsonbody import FieldViolation
from shared.errors import InvalidSourceVersion

RECORD_MEMBER = "sourceVersion"


@dataclass(frozen=True, slots=True)
class VersionSource:
    pointer: str
    tokens: tuple[str, ...]
    # Given explicitly, the export promises a version on every record.
    required: bool

    @classmethod
    def from_pointer(cls, pointer: str) -> VersionSource:
        """The place ``--version-pointer`` names; raises :class:`ValueError` for a bad pointer."""
        return cls(pointer, parse_pointer(pointer), required=True)


DEFAULT_SOURCE = VersionSource("/" + RECORD_MEMBER, (RECORD_MEMBER,), required=False)


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The reference tokens of an RFC 6901 pointer, unescaped (``~1`` is ``/``, ``~0`` is ``~``).

    The empty pointer (the whole record, an object) can never hold a version, so it is refused.
    """
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer (RFC 6901): it must start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if token.replace("~0", "").replace("~1", "").count("~"):
            raise ValueError(f"{pointer!r}: '~' must be followed by 0 or 1 (RFC 6901)")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def read_version(record: dict[str, Any], source: VersionSource) -> int | None:
    """The record's source version, or ``None`` where an optional one is absent.

    Raises :class:`BadVersion` for a value that is not a version, or a required one missing.
    """
    found, value = _resolve(record, source.tokens)
    if not found:
        if source.required:
            raise BadVersion(FieldViolation(source.pointer, "is required (--version-pointer)"))
        return None
    try:
        return version_value(value)
    except InvalidSourceVersion as exc:
        raise BadVersion(FieldViolation(source.pointer, str(exc))) from None


def version_value(value: Any) -> int:
    """A version given as a JSON integer or a string of decimal digits."""
    # bool is an int to Python, and a number with a fraction or exponent is no version.
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= MAX_SOURCE_VERSION:
            return value
    elif isinstance(value, str) and value == value.strip():
        return parse_source_version(value)
    raise InvalidSourceVersion(
        f"a source version must be an integer from 0 to {MAX_SOURCE_VERSION} "
        f"(a JSON number or a string of digits), not {_shown(value)}"
    )


def reading_fingerprint(inputs_fingerprint: str, source: VersionSource) -> str:
    """What a push checkpoint belongs to: the input bytes, and where their versions are read.

    The same files read with another pointer send other versions, so they are other inputs;
    read the default way they keep their plain fingerprint (and old checkpoints stay valid).
    """
    if source == DEFAULT_SOURCE:
        return inputs_fingerprint
    return hashlib.sha256(f"{inputs_fingerprint}\0{source.pointer}".encode()).hexdigest()


def stored_is_newer(stored: int | None, record: int | None) -> bool:
    """Whether the store holds a version of the order the service ranks above the record's.

    Such a record is outdated, not different: the service never goes back to it. As in
    :mod:`shared.domain.conflict`, an absent version ranks below every version.
    """
    return _rank(stored) > _rank(record)


def stored_is_current(stored: int | None, record: int) -> bool:
    """Whether the store holds the record's version already, or a higher one: no PUT needed.

    Equal counts too: one version of an order is one content in the OMS, so sending it
    again would only replace the stored copy by itself.
    """
    return _rank(stored) >= record


class BadVersion(ValueError):
    def __init__(self, violation: FieldViolation) -> None:
        super().__init__(f"{violation.pointer} {violation.detail}")
        self.violation = violation


def _rank(version: int | None) -> int:
    return -1 if version is None else version


def _resolve(document: Any, tokens: tuple[str, ...]) -> tuple[bool, Any]:
    value = document
    for token in tokens:
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and _is_index(token) and int(token) < len(value):
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _is_index(segment: str) -> bool:
    # RFC 6901: array indexes are decimal digits without leading zeros.
    return segment.isascii() and segment.isdigit() and (segment == "0" or segment[0] != "0")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
