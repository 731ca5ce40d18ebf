"""The conflict rule: which change of an order is stored, as one decision table.

A version is the pair ``(sourceVersion, receivedAt)``. ``sourceVersion`` is the
OMS's own version of the order (its revision, or its last-modified time in
microseconds), sent in the ``Source-Version`` header; ``receivedAt`` is when
ingest accepted the PUT. Versions are totally ordered, ``sourceVersion`` first,
an absent version being lower than every version. So:

- once an order carries versions, an unversioned or lower-versioned update is stale;
- an equal ``sourceVersion`` (or none on both sides) is decided by ``receivedAt``,
  the newest arrival winning, as for an OMS that sends no versions at all;
- the same pair again is a duplicate (a redelivery or a replay).

Three kinds of change meet the stored order: an OMS version that cancels the order
(its status is one of the cancelled statuses), any other OMS version, and a pickup
recorded at the store's POS. Pickup beats cancellation (Hii Retail, "Conflict
Handling"): once an order is picked up, no cancellation is ever stored, whatever its
version and whenever it was sent; an OMS version that does not cancel is decided by
the version rule as before. A pickup is not compared by version: it applies to the
order as stored, and becomes the version just after it (:func:`pickup_version`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import InvalidSourceVersion

MAX_SOURCE_VERSION = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_ONE_MICROSECOND = timedelta(microseconds=1)


class Decision(enum.Enum):
    WRITE = "write"
    SKIP_DUPLICATE = "skip-duplicate"
    SKIP_STALE = "skip-stale"
    # A cancellation of a picked-up order: never stored, acknowledged, and the OMS told.
    REFUSE_CANCELLATION = "refuse-cancellation"
    # A pickup of an order that is not stored, or that is cancelled.
    REFUSE_ABSENT = "refuse-absent"
    REFUSE_CANCELLED = "refuse-cancelled"

    @property
    def writes(self) -> bool:
        return self is Decision.WRITE


class Rule(enum.Enum):
    """Which part of the rule decided."""

    FIRST = "first"  # nothing was stored
    SOURCE_VERSION = "sourceVersion"
    RECEIVED_AT = "receivedAt"
    PICKUP = "pickup"  # the stored order's standing, for a pickup or against a cancellation


class Change(enum.Enum):
    """What an incoming change does to the order."""

    UPDATE = "update"  # an OMS version that does not cancel
    CANCELLATION = "cancellation"  # an OMS version whose status is a cancelled one
    PICKUP = "pickup"  # the POS handed the order out


class Standing(enum.Enum):
    """What is stored of the order."""

    ABSENT = "absent"
    OPEN = "open"
    CANCELLED = "cancelled"
    PICKED_UP = "picked-up"


class Order(enum.Enum):
    """The incoming version against the stored one."""

    NEWER = "newer"
    SAME = "same"
    OLDER = "older"
    # The decision does not depend on it.
    ANY = "any"


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


@dataclass(frozen=True, slots=True)
class Stored:
    """What the rule reads of the stored order."""

    version: Version
    standing: Standing


PICKED_UP_STATUS = "PICKED_UP"
CANCELLED_STATUSES = ("CANCELLED",)


@dataclass(frozen=True, slots=True)
class Statuses:
    """The order statuses the rule gives a meaning: the pickup's own, and the cancellations."""

    picked_up: str = PICKED_UP_STATUS
    cancelled: frozenset[str] = frozenset(CANCELLED_STATUSES)

    def change_of(self, status: str) -> Change:
        """What an OMS version of this status does."""
        return Change.CANCELLATION if status in self.cancelled else Change.UPDATE

    def standing_of(self, status: str, picked_up_at: datetime | None) -> Standing:
        """What a stored order is; picked up once a pickup was recorded, whatever came after."""
        if picked_up_at is not None:
            return Standing.PICKED_UP
        return Standing.CANCELLED if status in self.cancelled else Standing.OPEN


W, DUP, STALE = Decision.WRITE, Decision.SKIP_DUPLICATE, Decision.SKIP_STALE
_BY_VERSION = {Order.NEWER: W, Order.SAME: DUP, Order.OLDER: STALE}

# The whole rule: (change, what is stored, the change's version against it) -> decision.
TABLE: dict[tuple[Change, Standing, Order], Decision] = {
    (Change.UPDATE, Standing.ABSENT, Order.ANY): W,
    **{(Change.UPDATE, Standing.OPEN, order): d for order, d in _BY_VERSION.items()},
    **{(Change.UPDATE, Standing.CANCELLED, order): d for order, d in _BY_VERSION.items()},
    # Applied as ever; the stored pickup time is kept.
    **{(Change.UPDATE, Standing.PICKED_UP, order): d for order, d in _BY_VERSION.items()},
    (Change.CANCELLATION, Standing.ABSENT, Order.ANY): W,
    **{(Change.CANCELLATION, Standing.OPEN, order): d for order, d in _BY_VERSION.items()},
    **{(Change.CANCELLATION, Standing.CANCELLED, order): d for order, d in _BY_VERSION.items()},
    # Pickup beats cancellation, even one sent before the pickup or of a higher version.
    (Change.CANCELLATION, Standing.PICKED_UP, Order.ANY): Decision.REFUSE_CANCELLATION,
    (Change.PICKUP, Standing.ABSENT, Order.ANY): Decision.REFUSE_ABSENT,
    (Change.PICKUP, Standing.OPEN, Order.ANY): W,
    (Change.PICKUP, Standing.CANCELLED, Order.ANY): Decision.REFUSE_CANCELLED,
    # The POS repeating a recorded pickup: the same answer, nothing changes.
    (Change.PICKUP, Standing.PICKED_UP, Order.ANY): DUP,
}


def _rank(source_version: int | None) -> int:
    return -1 if source_version is None else source_version


def compare(incoming: Version, stored: Version) -> tuple[Order, Rule]:
    """Where ``incoming`` stands against ``stored``, and which part of the version says so."""
    if incoming.source_version != stored.source_version:
        newer = _rank(incoming.source_version) > _rank(stored.source_version)
        return (Order.NEWER if newer else Order.OLDER), Rule.SOURCE_VERSION
    if incoming.received_at > stored.received_at:
        return Order.NEWER, Rule.RECEIVED_AT
    if incoming.received_at == stored.received_at:
        return Order.SAME, Rule.RECEIVED_AT
    return Order.OLDER, Rule.RECEIVED_AT


def decide(change: Change, incoming: Version | None, stored: Stored | None) -> Verdict:
    """The table's decision for ``change`` (of version ``incoming``; none for a pickup)."""
    standing = Standing.ABSENT if stored is None else stored.standing
    by_standing = TABLE.get((change, standing, Order.ANY))
    if by_standing is not None:
        rule = (
            Rule.FIRST
            if standing is Standing.ABSENT and change is not Change.PICKUP
            else Rule.PICKUP
        )
        return Verdict(by_standing, rule)
    if incoming is None or stored is None:
        raise ValueError(f"a {change.value} of a {standing.value} order needs both versions")
    order, rule = compare(incoming, stored.version)
    return Verdict(TABLE[change, standing, order], rule)


def pickup_version(stored: Version, picked_up_at: datetime) -> Version:
    """The version a pickup at ``picked_up_at`` makes of the order stored at ``stored``.

    The stored ``sourceVersion``, so that any newer OMS version still wins, and the
    pickup's time, unless the stored version was received later still (clocks of two
    instances): then just after it, so the pickup is always the newer version.
    """
    return Version(max(picked_up_at, stored.received_at + _ONE_MICROSECOND), stored.source_version)


def parse_source_version(text: str) -> int:
    """A ``Source-Version`` header or attribute: a decimal integer from 0 to 2^63 - 1."""
    value = text.strip()
    if not _DIGITS.fullmatch(value) or int(value) > MAX_SOURCE_VERSION:
        raise InvalidSourceVersion(
            f"Source-Version must be one decimal integer from 0 to {MAX_SOURCE_VERSION}, "
            f"not {text[:40]!r}"
        )
    return int(value)
