"""The conflict rule: which change of an order is stored, as one decision table.

A version of the OMS's is the pair ``(sourceVersion, receivedAt)``. ``sourceVersion``
is the OMS's own version of the order (its revision, or its last-modified time in
microseconds), sent in the ``Source-Version`` header; ``receivedAt`` is when ingest
accepted the PUT. Versions are totally ordered, ``sourceVersion`` first, an absent
version being lower than every version. So:

- once an order carries versions, an unversioned or lower-versioned update is stale;
- an equal ``sourceVersion`` (or none on both sides) is decided by ``receivedAt``,
  the newest arrival winning, as for an OMS that sends no versions at all;
- the same pair again is a duplicate (a redelivery or a replay).

Two writers meet on an order: the OMS, whose versions replace its own members, and
the stores, whose updates (items ready, items handed out with the payments taken)
change only the store's record beside them (:mod:`shared.domain.store_state`). Each
change is one of :class:`Change`; what is stored of the order is its
:class:`Standing`; how the change stands against it is its :class:`Relation`: the
version order for the OMS's, the fit of the update for a store's
(:func:`shared.domain.store_updates.assess`). ``TABLE`` maps the three to a
:class:`Decision`, and nothing else decides (docs/design.md#the-conflict-rule).

Pickup beats cancellation, item by item (Hii Retail, "Conflict Handling"): once
anything is handed out, an OMS version that cancels the order, removes an item
handed out or orders less of it than was handed out is refused, whatever its
version and whenever it was sent; the OMS is told by an event. Readied items do not
stop a cancellation. A store update of a cancelled order is refused.
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
    # A store update the processor completes, decided on an order state that is gone.
    SKIP_SUPERSEDED = "skip-superseded"
    # An OMS version that would cancel what was handed out: never stored, acknowledged,
    # and the OMS told.
    REFUSE_CANCELLATION = "refuse-cancellation"
    # Store updates the order does not allow.
    REFUSE_ABSENT = "refuse-absent"
    REFUSE_CANCELLED = "refuse-cancelled"
    REFUSE_ALREADY_PICKED_UP = "refuse-already-picked-up"
    REFUSE_ALREADY_READY = "refuse-already-ready"
    REFUSE_EXCEEDS = "refuse-exceeds"
    REFUSE_UNKNOWN_ITEM = "refuse-unknown-item"
    REFUSE_NO_FULFILLMENT = "refuse-no-fulfillment"
    REFUSE_AMBIGUOUS = "refuse-ambiguous"
    REFUSE_WAREHOUSE = "refuse-warehouse"
    REFUSE_UPDATE_ID_REUSED = "refuse-update-id-reused"
    REFUSE_TENDER_RECORDED = "refuse-tender-recorded"
    # A fulfillment of a store the caller does not hold.
    REFUSE_FORBIDDEN = "refuse-forbidden"

    @property
    def writes(self) -> bool:
        return self is Decision.WRITE


class Rule(enum.Enum):
    """Which part of the rule decided."""

    FIRST = "first"  # nothing was stored
    SOURCE_VERSION = "sourceVersion"
    RECEIVED_AT = "receivedAt"
    # What was handed out, against an OMS version that would cancel it.
    PICKUP = "pickup"
    # The store update's fit against the order (shared.domain.store_updates.assess).
    STORE = "store"


class Change(enum.Enum):
    """What an incoming change does to the order."""

    UPDATE = "update"  # an OMS version that keeps everything handed out
    CANCELLATION = "cancellation"  # an OMS version whose status is a cancelled one
    # An OMS version that removes a fulfillment item handed out, or orders less of it.
    UNPICKING = "unpicking"
    READY = "ready"  # a store readied items for pickup
    PICKUP = "pickup"  # a store handed items out

    @property
    def is_store_update(self) -> bool:
        return self in (Change.READY, Change.PICKUP)


class Standing(enum.Enum):
    """What is stored of the order."""

    ABSENT = "absent"
    OPEN = "open"
    CANCELLED = "cancelled"
    # Something of it was handed out (the whole order, or some items).
    PICKED_UP = "picked-up"


class Relation(enum.Enum):
    """How the change stands against the stored order."""

    # An OMS version against the stored version.
    NEWER = "newer"
    SAME = "same"
    OLDER = "older"
    # A store update: its id recorded already for the same request, or for another one.
    REPEATED = "repeated"
    REUSED = "reused"
    # Completed by the processor on an order that changed since it was decided.
    SUPERSEDED = "superseded"
    FITS = "fits"
    ALL_PICKED_UP = "all-picked-up"  # an item asked for has nothing left to hand out
    ALL_READY = "all-ready"  # nothing is left to ready
    EXCEEDS = "exceeds"  # more than remains
    UNKNOWN_ITEM = "unknown-item"  # an item the fulfillment does not hold
    NO_FULFILLMENT = "no-fulfillment"  # the fulfillment named is not the order's (any more)
    AMBIGUOUS = "ambiguous"  # no fulfillment named, and the order has several in stores
    WAREHOUSE = "warehouse"  # a fulfillment delivered from the warehouse
    TENDER_RECORDED = "tender-recorded"  # a tender id recorded already
    NOT_YOURS = "not-yours"  # a fulfillment of a store the caller does not hold


OMS_RELATIONS = (Relation.NEWER, Relation.SAME, Relation.OLDER)
STORE_RELATIONS = tuple(relation for relation in Relation if relation not in OMS_RELATIONS)


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


CANCELLED_STATUSES = ("CANCELLED",)


@dataclass(frozen=True, slots=True)
class Statuses:
    """The order statuses the rule gives a meaning: the cancellations."""

    cancelled: frozenset[str] = frozenset(CANCELLED_STATUSES)

    def is_cancellation(self, status: str) -> bool:
        return status in self.cancelled

    def standing_of(self, status: str, picked_up_any: bool) -> Standing:
        """What a stored order is; picked up once anything was handed out, whatever came after."""
        if picked_up_any:
            return Standing.PICKED_UP
        return Standing.CANCELLED if status in self.cancelled else Standing.OPEN


W, DUP, STALE = Decision.WRITE, Decision.SKIP_DUPLICATE, Decision.SKIP_STALE
_BY_VERSION = {Relation.NEWER: W, Relation.SAME: DUP, Relation.OLDER: STALE}
_BY_FIT = {
    Relation.REPEATED: DUP,
    Relation.REUSED: Decision.REFUSE_UPDATE_ID_REUSED,
    Relation.SUPERSEDED: Decision.SKIP_SUPERSEDED,
    Relation.FITS: W,
    Relation.ALL_PICKED_UP: Decision.REFUSE_ALREADY_PICKED_UP,
    Relation.ALL_READY: Decision.REFUSE_ALREADY_READY,
    Relation.EXCEEDS: Decision.REFUSE_EXCEEDS,
    Relation.UNKNOWN_ITEM: Decision.REFUSE_UNKNOWN_ITEM,
    Relation.NO_FULFILLMENT: Decision.REFUSE_NO_FULFILLMENT,
    Relation.AMBIGUOUS: Decision.REFUSE_AMBIGUOUS,
    Relation.WAREHOUSE: Decision.REFUSE_WAREHOUSE,
    Relation.TENDER_RECORDED: Decision.REFUSE_TENDER_RECORDED,
    Relation.NOT_YOURS: Decision.REFUSE_FORBIDDEN,
}
_OMS_CHANGES = (Change.UPDATE, Change.CANCELLATION)
_STORE_CHANGES = (Change.READY, Change.PICKUP)

# The whole rule: (change, what is stored, how the change stands against it) -> decision.
# Combinations that cannot occur are absent: nothing is picked up of an absent, open or
# cancelled order, so no OMS version can unpick it.
TABLE: dict[tuple[Change, Standing, Relation], Decision] = {
    # The first OMS version of an order is stored, whatever it is.
    **{(change, Standing.ABSENT, Relation.NEWER): W for change in _OMS_CHANGES},
    # Without a pickup, the version rule alone; after one, an update still.
    **{
        (change, standing, relation): decision
        for change in _OMS_CHANGES
        for standing in (Standing.OPEN, Standing.CANCELLED)
        for relation, decision in _BY_VERSION.items()
    },
    **{(Change.UPDATE, Standing.PICKED_UP, r): d for r, d in _BY_VERSION.items()},
    # Pickup beats cancellation, even one sent before the pickup or of a higher version.
    **{
        (change, Standing.PICKED_UP, relation): Decision.REFUSE_CANCELLATION
        for change in (Change.CANCELLATION, Change.UNPICKING)
        for relation in OMS_RELATIONS
    },
    # A store update of no order, of a cancelled one, or decided by its fit.
    **{
        (change, Standing.ABSENT, relation): Decision.REFUSE_ABSENT
        for change in _STORE_CHANGES
        for relation in STORE_RELATIONS
    },
    **{
        (change, Standing.CANCELLED, relation): Decision.REFUSE_CANCELLED
        for change in _STORE_CHANGES
        for relation in STORE_RELATIONS
    },
    # The same update again answers the same; one completed late records nothing; another
    # store's fulfillment is refused as such, whatever became of the order.
    **{
        (change, Standing.CANCELLED, relation): _BY_FIT[relation]
        for change in _STORE_CHANGES
        for relation in (Relation.REPEATED, Relation.SUPERSEDED, Relation.NOT_YOURS)
    },
    **{
        (change, standing, relation): decision
        for change in _STORE_CHANGES
        for standing in (Standing.OPEN, Standing.PICKED_UP)
        for relation, decision in _BY_FIT.items()
    },
}


def _rank(source_version: int | None) -> int:
    return -1 if source_version is None else source_version


def compare(incoming: Version, stored: Version) -> tuple[Relation, Rule]:
    """Where ``incoming`` stands against ``stored``, and which part of the version says so."""
    if incoming.source_version != stored.source_version:
        newer = _rank(incoming.source_version) > _rank(stored.source_version)
        return (Relation.NEWER if newer else Relation.OLDER), Rule.SOURCE_VERSION
    if incoming.received_at > stored.received_at:
        return Relation.NEWER, Rule.RECEIVED_AT
    if incoming.received_at == stored.received_at:
        return Relation.SAME, Rule.RECEIVED_AT
    return Relation.OLDER, Rule.RECEIVED_AT


def decide(change: Change, incoming: Version, stored: Stored | None) -> Verdict:
    """The decision for an OMS version ``incoming``: an update, cancellation or unpicking."""
    if change.is_store_update:
        raise ValueError(f"a {change.value} is decided by decide_update")
    if stored is None:
        return Verdict(TABLE[change, Standing.ABSENT, Relation.NEWER], Rule.FIRST)
    relation, rule = compare(incoming, stored.version)
    decision = _look_up(change, stored.standing, relation)
    if decision is Decision.REFUSE_CANCELLATION:
        rule = Rule.PICKUP
    return Verdict(decision, rule)


def decide_update(change: Change, standing: Standing, relation: Relation) -> Verdict:
    """The table's decision for a store update that stands in ``relation`` to the order."""
    if not change.is_store_update:
        raise ValueError(f"a {change.value} is decided by decide")
    return Verdict(_look_up(change, standing, relation), Rule.STORE)


def _look_up(change: Change, standing: Standing, relation: Relation) -> Decision:
    decision = TABLE.get((change, standing, relation))
    if decision is None:
        raise ValueError(
            f"a {change.value} that is {relation.value} to a {standing.value} order cannot occur"
        )
    return decision


def parse_source_version(text: str) -> int:
    """A ``Source-Version`` header or attribute: a decimal integer from 0 to 2^63 - 1."""
    value = text.strip()
    if not _DIGITS.fullmatch(value) or int(value) > MAX_SOURCE_VERSION:
        raise InvalidSourceVersion(
            f"Source-Version must be one decimal integer from 0 to {MAX_SOURCE_VERSION}, "
            f"not {text[:40]!r}"
        )
    return int(value)
