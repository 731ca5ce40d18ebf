"""Rules for business-unit and customer-order ids.

Each id becomes a Firestore document id, a Pub/Sub attribute and half of the
ordering key ``BU/ID``, so it follows all three services' rules, narrowed to what
an HTTP path segment can carry unambiguously. Lengths are in UTF-8 bytes, as
Google counts them.
"""

from __future__ import annotations

import re

from shared.domain.limits import MAX_ID_BYTES, MAX_UPDATE_ID_BYTES, PUBSUB_MAX_ORDERING_KEY_BYTES
from shared.errors import InvalidId

_RESERVED = re.compile(r"__.*__", re.DOTALL)


def id_violation(value: str) -> str | None:
    """The reason ``value`` is not a valid id, or ``None`` when it is."""
    if not value:
        return "must not be empty"
    if not value.isprintable():
        return "must contain only printable characters"
    # Printable text has no lone surrogates, so it always has a UTF-8 form.
    size = len(value.encode("utf-8"))
    if size > MAX_ID_BYTES:
        return (
            f"must be at most {MAX_ID_BYTES} bytes of UTF-8, not {size} (two ids and a '/' "
            f"make the Pub/Sub ordering key, which may hold {PUBSUB_MAX_ORDERING_KEY_BYTES})"
        )
    if "/" in value:
        return "must not contain '/'"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if _RESERVED.fullmatch(value):
        return "must not have the form __name__ (reserved by Firestore)"
    return None


def update_id_violation(value: str) -> str | None:
    """Why ``value`` cannot be a store update's id (a document id under the order), or ``None``."""
    reason = id_violation(value)
    if reason is None and len(value.encode("utf-8")) > MAX_UPDATE_ID_BYTES:
        return f"must be at most {MAX_UPDATE_ID_BYTES} bytes of UTF-8"
    return reason


def validate_id(value: str, *, name: str) -> str:
    reason = id_violation(value)
    if reason is not None:
        raise InvalidId(f"{name} {reason}")
    return value


def utf8_size(text: str) -> int | None:
    """The UTF-8 size of ``text``, or ``None`` when it has no UTF-8 form (a lone surrogate)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None
