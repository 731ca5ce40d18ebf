"""The indexes that serve every search, and what each stored order costs in them.

Every search orders its answer by ``receivedAt`` descending, and each of its
criteria is an equality (``==``, ``in``, ``array-contains``), with the
``receivedAt`` range as cursors on that order rather than as a filter. Firestore
serves such a query by merging one composite index per criterion, each of that
field and ``receivedAt`` descending ("Index types in Cloud Firestore", index
merging: "for queries with multiple equality clauses and, optionally, an orderBy
clause, Cloud Firestore can re-use existing indexes"). So five composite indexes
serve all 23 combinations of the five criteria (itemId and additionalInformationValue
exclude each other: Firestore takes one array-contains per query), where one index
per combination would take 23, and an order has one entry per item id, where one
index per combination would have 8 (docs/design.md#the-searchs-indexes has the figures).

The search by fulfillment status (fulfillment states at the searched store) runs over every
business unit's orders, a collection-group query: Firestore serves it only from an
index of collection-group scope, one of its own, with which no other criterion's
index merges (those are of collection scope). So it combines with the ``receivedAt``
range alone (docs/design.md#searching-by-fulfillment-status).

``terraform/firestore.tf`` creates exactly :data:`COMPOSITE_INDEXES` and
:data:`SINGLE_FIELD_INDEXES`, and exempts every other field; a test runs every
combination on the emulator and checks that these indexes serve it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.domain import stored_order as fields
from shared.domain.addresses import BUSINESS_UNITS, CUSTOMER_ORDERS
from shared.domain.fulfillments import Fulfillment
from shared.domain.search import Operator, SearchCriteria
from shared.domain.search_fields import SearchFields
from shared.domain.stored_order import (
    document_name_size,
    largest_fulfillment_state_size,
    string_size,
)

Mode = Literal["ASCENDING", "DESCENDING", "CONTAINS"]
# Firestore's query scopes: one business unit's collection, or every collection of the id.
Scope = Literal["COLLECTION", "COLLECTION_GROUP"]

# Firestore: "Maximum number of index entries for each document: 40,000" and "Maximum
# sum of the sizes of a document's index entries: 8 MiB" (Quotas and limits).
FIRESTORE_MAX_INDEX_ENTRIES = 40_000
FIRESTORE_MAX_INDEX_ENTRIES_BYTES = 8 * 1024 * 1024
# The service's own cap, a quarter of Firestore's: room for indexes a later release adds.
MAX_INDEX_ENTRIES = FIRESTORE_MAX_INDEX_ENTRIES // 4
_INDEX_ENTRY_OVERHEAD_BYTES = 32
_TIMESTAMP_BYTES = 8


@dataclass(frozen=True, slots=True)
class IndexedField:
    path: str
    mode: Mode


@dataclass(frozen=True, slots=True)
class Index:
    fields: tuple[IndexedField, ...]
    scope: Scope = "COLLECTION"


ANSWER_ORDER = IndexedField(fields.RECEIVED_AT, "DESCENDING")
_MODES: dict[Operator, Mode] = {
    "==": "ASCENDING",
    "in": "ASCENDING",
    "array-contains": "CONTAINS",
    "array-contains-any": "CONTAINS",
}
# The searched fields, each with how its criterion compares it.
SEARCHED_FIELDS: dict[str, Mode] = {
    fields.CUSTOMER_ID: "ASCENDING",
    fields.STATUS: "ASCENDING",
    fields.CUSTOMER_ACCOUNT_ID: "ASCENDING",
    fields.ITEM_IDS: "CONTAINS",
    fields.ADDITIONAL_INFORMATION_VALUES: "CONTAINS",
}
# The search by fulfillment status, over every business unit's orders.
FULFILLMENT_STATES_INDEX = Index(
    (IndexedField(fields.FULFILLMENT_STATES, "CONTAINS"), ANSWER_ORDER), "COLLECTION_GROUP"
)
COMPOSITE_INDEXES = (
    *(Index((IndexedField(path, mode), ANSWER_ORDER)) for path, mode in SEARCHED_FIELDS.items()),
    FULFILLMENT_STATES_INDEX,
)
# A search by receivedAt alone reads receivedAt's own descending index.
SINGLE_FIELD_INDEXES = (Index((ANSWER_ORDER,)),)


def indexes_serving(criteria: SearchCriteria) -> tuple[Index, ...]:
    """The indexes Firestore merges to answer ``criteria``: one per criterion."""
    conditions = criteria.conditions()
    if not conditions:
        return SINGLE_FIELD_INDEXES
    scope: Scope = "COLLECTION_GROUP" if criteria.across_business_units else "COLLECTION"
    return tuple(
        Index((IndexedField(condition.field, _MODES[condition.operator]), ANSWER_ORDER), scope)
        for condition in conditions
    )


@dataclass(frozen=True, slots=True)
class IndexCost:
    entries: int
    bytes: int


def index_cost(
    business_unit_id: str,
    customer_order_id: str,
    *,
    customer_id: str,
    status: str,
    search_fields: SearchFields,
    fulfillments: Sequence[Fulfillment] = (),
) -> IndexCost:
    """The entries a stored order has in the indexes above, and their size, at most.

    Each entry is the document name, the indexed values and 32 bytes ("Storage size
    calculations"); an array has one entry per distinct value. Each store fulfillment
    has at most one ``fulfillmentStates`` value, its status at its longest.
    """
    name = document_name_size(BUSINESS_UNITS, business_unit_id, CUSTOMER_ORDERS, customer_order_id)
    value_sizes = [string_size(value) for value in (customer_id, status, *search_fields.values)]
    value_sizes += [
        largest_fulfillment_state_size(fulfillment.business_unit_id)
        for fulfillment in fulfillments
        if fulfillment.is_store_pickup and fulfillment.business_unit_id is not None
    ]
    per_entry = name + _TIMESTAMP_BYTES + _INDEX_ENTRY_OVERHEAD_BYTES
    # receivedAt's own entry, then one entry per value in its field's composite index.
    entries = 1 + len(value_sizes)
    return IndexCost(entries, per_entry * entries + sum(value_sizes))


def index_cost_violation(cost: IndexCost) -> str | None:
    if cost.entries > MAX_INDEX_ENTRIES:
        return (
            f"would have {cost.entries} search index entries (one per distinct itemId, "
            "additionalInformation value and store fulfillment), over this service's "
            f"{MAX_INDEX_ENTRIES}"
        )
    if cost.bytes > FIRESTORE_MAX_INDEX_ENTRIES_BYTES:
        return (
            f"would have {cost.bytes} bytes of search index entries, over Firestore's "
            f"{FIRESTORE_MAX_INDEX_ENTRIES_BYTES} for one document"
        )
    return None
