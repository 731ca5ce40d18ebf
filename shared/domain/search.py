"""The search of a business unit's orders: its criteria, its order, and its page tokens.

Every criterion is an equality on a stored field (``status`` one of several, an
item id or an additional-information value one of the order's), all combined
with AND; the ``receivedAt`` range is the slice of the order the answer comes in:
newest first (``receivedAt`` descending, then the document's name descending). How
Firestore serves each combination is :mod:`shared.domain.search_index`'s.

One criterion looks beyond the business unit's own orders: the fulfillment states
(``{store}/{status}``, :func:`~shared.domain.stored_order.fulfillment_state`) find
the orders with a fulfillment to be picked up at the searched business unit, under
whichever business unit's path the OMS stored them (a store-to-store order is stored
under the one it was sold in). It combines with the ``receivedAt`` range only
(docs/design.md#searching-by-fulfillment-status).

A page token names the position of the last order of its page (with its business
unit when the answer spans several) and a digest of the criteria it was issued
for, so that it cannot be replayed against another search to skip into it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.domain import stored_order as fields
from shared.domain.ids import id_violation
from shared.domain.jsonbody import parse_json
from shared.domain.search_fields import SearchFields
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import InvalidPageToken

# 1: the search by customerId of the releases before this one, in order id order.
_VERSION = 2

Operator = Literal["==", "in", "array-contains", "array-contains-any"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One criterion as the store evaluates it: ``field operator value``."""

    field: str
    operator: Operator
    value: str | tuple[str, ...]

    def holds(self, stored: str | tuple[str, ...] | None) -> bool:
        if self.operator == "==":
            return stored == self.value
        if self.operator == "in":
            return stored in self.value
        if self.operator == "array-contains-any":
            return isinstance(stored, tuple) and any(value in stored for value in self.value)
        return isinstance(stored, tuple) and self.value in stored


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    customer_id: str | None = None
    statuses: tuple[str, ...] = ()
    customer_account_id: str | None = None
    additional_information_value: str | None = None
    item_id: str | None = None
    # Any of these fulfillmentStates values, each {store}/{status} of one store: the
    # orders of every business unit with a fulfillment at that store in one of the statuses.
    fulfillment_states: tuple[str, ...] = ()
    # receivedAt >= received_from and < received_before.
    received_from: datetime | None = None
    received_before: datetime | None = None

    @property
    def across_business_units(self) -> bool:
        """Whether the search looks at every business unit's orders, not the searched one's."""
        return bool(self.fulfillment_states)

    def conditions(self) -> tuple[Condition, ...]:
        conditions = []
        if self.customer_id is not None:
            conditions.append(Condition(fields.CUSTOMER_ID, "==", self.customer_id))
        if len(self.statuses) == 1:
            conditions.append(Condition(fields.STATUS, "==", self.statuses[0]))
        elif self.statuses:
            conditions.append(Condition(fields.STATUS, "in", self.statuses))
        if self.customer_account_id is not None:
            conditions.append(Condition(fields.CUSTOMER_ACCOUNT_ID, "==", self.customer_account_id))
        if self.item_id is not None:
            conditions.append(Condition(fields.ITEM_IDS, "array-contains", self.item_id))
        if self.additional_information_value is not None:
            conditions.append(
                Condition(
                    fields.ADDITIONAL_INFORMATION_VALUES,
                    "array-contains",
                    self.additional_information_value,
                )
            )
        if self.fulfillment_states:
            conditions.append(
                Condition(fields.FULFILLMENT_STATES, "array-contains-any", self.fulfillment_states)
            )
        return tuple(conditions)

    def matches(
        self,
        customer_id: str,
        status: str,
        search: SearchFields,
        received_at: datetime,
        fulfillment_states: tuple[str, ...] = (),
    ) -> bool:
        """Whether an order of these stored fields is found (the in-memory store's query)."""
        stored: dict[str, str | tuple[str, ...] | None] = {
            fields.CUSTOMER_ID: customer_id,
            fields.STATUS: status,
            fields.CUSTOMER_ACCOUNT_ID: search.customer_account_id,
            fields.ITEM_IDS: search.item_ids,
            fields.ADDITIONAL_INFORMATION_VALUES: search.additional_information_values,
            fields.FULFILLMENT_STATES: fulfillment_states,
        }
        return (
            all(condition.holds(stored[condition.field]) for condition in self.conditions())
            and (self.received_from is None or received_at >= self.received_from)
            and (self.received_before is None or received_at < self.received_before)
        )

    def digest(self) -> str:
        canonical = [
            self.customer_id,
            sorted(self.statuses),
            self.customer_account_id,
            self.additional_information_value,
            self.item_id,
            None if self.received_from is None else format_timestamp(self.received_from),
            None if self.received_before is None else format_timestamp(self.received_before),
        ]
        # Only when given: the digests of the other searches stay those of the release
        # before, whose page tokens this one takes.
        if self.fulfillment_states:
            canonical.append(sorted(self.fulfillment_states))
        encoded = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SearchPosition:
    """Where an order stands in the answer's order: newest first, then its document's name
    descending (its business unit's id, then its own id).

    ``business_unit_id`` is None in a search of one business unit's orders: the searched one.
    """

    received_at: datetime
    customer_order_id: str
    business_unit_id: str | None = None


def page_token(criteria: SearchCriteria, last: SearchPosition) -> str:
    parts = [
        _VERSION,
        criteria.digest(),
        format_timestamp(last.received_at),
        last.customer_order_id,
    ]
    if last.business_unit_id is not None:
        parts.append(last.business_unit_id)
    payload = json.dumps(parts, ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def position_of(token: str, criteria: SearchCriteria) -> SearchPosition:
    """Where the next page starts; :class:`InvalidPageToken` for a token of another search."""
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = parse_json(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        raise InvalidPageToken("is not a page token this service issued") from None
    if isinstance(decoded, list) and decoded[:1] == [1]:
        raise InvalidPageToken(
            "was issued by the release before this one, whose answers came in another "
            "order: start the search again without it"
        )
    try:
        # The business unit of the last order only when the answer spans several.
        version, digest, received_at, after, *unit = decoded
        position = SearchPosition(parse_timestamp(received_at), after, *unit)
    except (ValueError, TypeError):
        raise InvalidPageToken("is not a page token this service issued") from None
    if (
        version != _VERSION
        or any(not _is_id(value) for value in (after, *unit))
        or len(unit) != (1 if criteria.across_business_units else 0)
    ):
        raise InvalidPageToken("is not a page token this service issued")
    if digest != criteria.digest():
        raise InvalidPageToken("was issued for a search with other criteria")
    return position


def _is_id(value: object) -> bool:
    return isinstance(value, str) and id_violation(value) is None
