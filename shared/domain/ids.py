"""Rules for business-unit and customer-order ids.

Both become Firestore document ids, so they follow Firestore's rules, narrowed
to what an HTTP path segment can carry unambiguously.
"""

from __future__ import annotations

import re

from shared.errors import InvalidId

MAX_ID_LENGTH = 256
_RESERVED = re.compile(r"__.*__", re.DOTALL)


def id_violation(value: str) -> str | None:
    """The reason ``value`` is not a valid id, or ``None`` when it is."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters"
    if "/" in value:
        return "must not contain '/'"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if _RESERVED.fullmatch(value):
        return "must not have the form __name__ (reserved by Firestore)"
    if not value.isprintable():
        return "must contain only printable characters"
    return None


def validate_id(value: str, *, name: str) -> str:
    reason = id_violation(value)
    if reason is not None:
        raise InvalidId(f"{name} {reason}")
    return value
