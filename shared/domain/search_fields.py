"""What the search finds an order by, beyond ``customerId`` and ``status``: taken from its body.

The invoice account, the distinct item ids and the distinct additional-information
values are stored beside the body so that Firestore can index them
(:mod:`shared.domain.search_index`). They come from the body and nothing else:
ingest checks them before it publishes, the processor takes them from the body
of the message it stores, so a message of any release (or a dead letter
replayed weeks later) is stored with the fields its own body gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.ids import utf8_size
from shared.domain.jsonbody import parse_accepted_json
from shared.domain.limits import FIRESTORE_MAX_INDEXED_VALUE_BYTES
from shared.errors import MalformedJson

CUSTOMER_ORDER = "customerOrder"


@dataclass(frozen=True, slots=True)
class SearchFields:
    customer_account_id: str | None
    item_ids: tuple[str, ...]
    additional_information_values: tuple[str, ...]

    @property
    def values(self) -> tuple[str, ...]:
        """Every stored value, each of which is one index entry."""
        account = () if self.customer_account_id is None else (self.customer_account_id,)
        return account + self.item_ids + self.additional_information_values


NO_SEARCH_FIELDS = SearchFields(None, (), ())


def _members(objects: Any, member: str) -> tuple[str, ...]:
    """The distinct string values of ``member`` in a JSON array of objects, in first-seen order."""
    if not isinstance(objects, list):
        return ()
    # Firestore indexes each distinct array value once; duplicates would only cost bytes.
    values = (entry.get(member) for entry in objects if isinstance(entry, Mapping))
    return tuple(dict.fromkeys(value for value in values if isinstance(value, str)))


def search_fields_of(order: Mapping[str, Any]) -> SearchFields:
    """The search fields of a ``customerOrder`` object, as parsed from JSON."""
    instructions = order.get("invoicePaymentInstructions")
    if not isinstance(instructions, Mapping):
        instructions = {}
    account = instructions.get("customerAccountId")
    return SearchFields(
        customer_account_id=account if isinstance(account, str) else None,
        item_ids=_members(order.get("items"), "itemId"),
        additional_information_values=_members(instructions.get("additionalInformation"), "value"),
    )


def search_fields_of_body(body: bytes) -> SearchFields:
    """The search fields of a stored or published body (``{"customerOrder": {...}}``).

    Ingest validated the body; one that does not parse (a hand-made message whose
    digest was made to match) is stored with none rather than not at all.
    """
    try:
        document = parse_accepted_json(body)
    except MalformedJson:
        return NO_SEARCH_FIELDS
    order = document.get(CUSTOMER_ORDER) if isinstance(document, Mapping) else None
    return search_fields_of(order) if isinstance(order, Mapping) else NO_SEARCH_FIELDS


def searchable_value_violation(value: str) -> str | None:
    """Why ``value`` cannot be found by an exact match, or ``None``."""
    size = utf8_size(value)
    if size is None:
        return "must be valid UTF-8 (it contains an unpaired surrogate)"
    if size > FIRESTORE_MAX_INDEXED_VALUE_BYTES:
        return (
            f"must be at most {FIRESTORE_MAX_INDEXED_VALUE_BYTES} bytes of UTF-8, not {size} "
            "(Firestore truncates longer values in its indexes, so the search could not "
            "match it exactly)"
        )
    return None
