"""The conflict rule: one total order of an order's versions, and nothing ever moves it backwards.

A version is the pair ``(sourceVersion, receivedAt)``. ``sourceVersion`` is the
OMS's own version of the order (its revision, or its last-modified time in
microseconds), sent in the ``Source-Version`` header; ``receivedAt`` is when
ingest accepted the PUT. A message is stored only when its pair is strictly
greater than the stored one, comparing ``sourceVersion`` first, where an
absent version is lower than every version. So:

- once an order carries versions, an unversioned or lower-versioned update is stale;
- an equal ``sourceVersion`` (or none on both sides) is decided by ``receivedAt``,
  the newest arrival winning, as for an OMS that sends no versions at all;
- the same pair again is a duplicate (a redelivery or a replay).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from shared.errors import InvalidSourceVersion

MAX_SOURCE_VERSION = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


class Decision(enum.Enum):
    WRITE = "write"
    SKIP_DUPLICATE = "skip-duplicate"
    SKIP_STALE = "skip-stale"

    @property
    def writes(self) -> bool:
        return self is Decision.WRITE


class Rule(enum.Enum):
    """Which part of the version decided."""

    FIRST = "first"  # nothing was stored
    SOURCE_VERSION = "sourceVersion"
    RECEIVED_AT = "receivedAt"


@dataclass(frozen=True, slots=True)
class Version:
    received_at: datetime
    source_version: int | None = None

    def __str__(self) -> str:
        source = "none" if self.source_version is None else str(self.source_version)
        return f"sourceVersion={source} receivedAt={self.received_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    rule: Rule

    @property
    def writes(self) -> bool:
        return self.decision.writes


def _rank(source_version: int | None) -> int:
    return -1 if source_version is None else source_version


def decide(incoming: Version, stored: Version | None) -> Verdict:
    """Write only when nothing is stored or the incoming version is strictly greater."""
    if stored is None:
        return Verdict(Decision.WRITE, Rule.FIRST)
    if incoming.source_version != stored.source_version:
        newer = _rank(incoming.source_version) > _rank(stored.source_version)
        return Verdict(Decision.WRITE if newer else Decision.SKIP_STALE, Rule.SOURCE_VERSION)
    if incoming.received_at > stored.received_at:
        return Verdict(Decision.WRITE, Rule.RECEIVED_AT)
    if incoming.received_at == stored.received_at:
        return Verdict(Decision.SKIP_DUPLICATE, Rule.RECEIVED_AT)
    return Verdict(Decision.SKIP_STALE, Rule.RECEIVED_AT)


def parse_source_version(text: str) -> int:
    """A ``Source-Version`` header or attribute: a decimal integer from 0 to 2^63 - 1."""
    value = text.strip()
    if not _DIGITS.fullmatch(value) or int(value) > MAX_SOURCE_VERSION:
        raise InvalidSourceVersion(
            f"Source-Version must be one decimal integer from 0 to {MAX_SOURCE_VERSION}, "
            f"not {text[:40]!r}"
        )
    return int(value)
