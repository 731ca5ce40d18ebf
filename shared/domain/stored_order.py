"""The stored order: what the store keeps of an accepted order, field by field, and its size.

One Firestore document per order, at ``business-units/{BU}/customer-orders/{ID}``:

===========================  =========  ========================================================
field                        type       what
===========================  =========  ========================================================
body                         bytes      the PUT body exactly as the OMS sent it
customerId                   string     projected from the body: searched, and in the answer
status                       string     projected from the body: searched, and in the answer
customerAccountId            string     invoicePaymentInstructions.customerAccountId, searched;
                                        absent when the body has none
itemIds                      array      the body's distinct items[].itemId, searched
additionalInformationValues  array      the distinct values of invoicePaymentInstructions
                                        .additionalInformation[], searched
fulfillmentStates            array      ``{store}/{status}`` of each store fulfillment with a
                                        status (the store's, else the OMS's), searched
bodySha256                   string     hex SHA-256 of ``body``
sourceVersion                integer    the OMS's version of the order, or null (conflict rule)
receivedAt                   timestamp  when ingest accepted this version (the conflict rule;
                                        the search's range and the order of its answer)
createdAt                    timestamp  the receivedAt of the first stored version (kept by
                                        every later version: an event says created or updated)
storeState                   bytes      the store's record (shared.domain.store_state), absent
                                        until a store recorded something
pickedUpAt                   timestamp  when a store last handed something out, or null
lastStoreUpdate              string     the store update that made this state, or null when
                                        the OMS's version did
correlationId                string     the id of the PUT that carried this version
messageId                    string     the Pub/Sub message that carried it
processedAt                  timestamp  the commit time, set by Firestore
===========================  =========  ========================================================

Each store update is also a document of its own, at ``.../{ID}/store-updates/{updateId}``,
created in the same commit as the order's new state: how a retry finds it.

Two writers, each writing only the fields it owns (a field mask), on the condition
that the document did not change since it was read: an OMS version writes every
field but those a store update owns and keeps the store's record as it read it; a
store update writes :data:`STORE_UPDATE_FIELDS`. Neither drops a field it does not
know, so a document a later release wrote keeps that release's fields when this
release writes it (docs/deploying.md#rolling-back).

The release before fulfillments stored a pickup as a version of its own: the body
with the picked-up status and a ``pickedUpAt`` member, no ``storeState``. Such an
order reads as handed out whole at ``pickedUpAt``
(:func:`~shared.domain.store_state.legacy_pickup_state`).

Keeping the body as bytes makes the document's size a sum of lengths and GET byte
exact. Only the search's fields are indexed, each in the one way the search needs
(:mod:`shared.domain.search_index`; ``terraform/firestore.tf`` exempts every other
field and creates those indexes; a test holds the lists together). Documents of the
releases before the search fields have none of them: the store reads them
back with the fields their body gives, so that their next version has them, and
``orders-reindex`` writes them to those that get no next version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.domain.addresses import BUSINESS_UNITS, CUSTOMER_ORDERS
from shared.domain.conflict import Statuses, Stored, Version
from shared.domain.fulfillments import ORDER_MEMBER, Fulfillment, fulfillments_of
from shared.domain.jsonbody import parse_accepted_json
from shared.domain.limits import (
    FIRESTORE_MAX_DOCUMENT_BYTES,
    FIRESTORE_MAX_FIELD_VALUE_BYTES,
    MAX_CORRELATION_ID_BYTES,
    MAX_FULFILLMENT_STATUS_BYTES,
    MAX_UPDATE_ID_BYTES,
)
from shared.domain.messages import OrderMessage
from shared.domain.order_view import order_view
from shared.domain.search_fields import NO_SEARCH_FIELDS, SearchFields, search_fields_of
from shared.domain.store_state import (
    EMPTY_STORE_STATE,
    LEGACY_PICKUP_ID,
    StoreState,
)
from shared.domain.store_updates import Basis
from shared.errors import MalformedJson

BODY = "body"
CUSTOMER_ID = "customerId"
STATUS = "status"
CUSTOMER_ACCOUNT_ID = "customerAccountId"
ITEM_IDS = "itemIds"
ADDITIONAL_INFORMATION_VALUES = "additionalInformationValues"
FULFILLMENT_STATES = "fulfillmentStates"
BODY_SHA256 = "bodySha256"
SOURCE_VERSION = "sourceVersion"
RECEIVED_AT = "receivedAt"
CREATED_AT = "createdAt"
STORE_STATE = "storeState"
PICKED_UP_AT = "pickedUpAt"
LAST_STORE_UPDATE = "lastStoreUpdate"
CORRELATION_ID = "correlationId"
MESSAGE_ID = "messageId"
PROCESSED_AT = "processedAt"

FIELDS = (
    BODY,
    CUSTOMER_ID,
    STATUS,
    CUSTOMER_ACCOUNT_ID,
    ITEM_IDS,
    ADDITIONAL_INFORMATION_VALUES,
    FULFILLMENT_STATES,
    BODY_SHA256,
    SOURCE_VERSION,
    RECEIVED_AT,
    CREATED_AT,
    STORE_STATE,
    PICKED_UP_AT,
    LAST_STORE_UPDATE,
    CORRELATION_ID,
    MESSAGE_ID,
    PROCESSED_AT,
)
# What a store update writes; an OMS version writes all of FIELDS.
STORE_UPDATE_FIELDS = (
    STORE_STATE,
    PICKED_UP_AT,
    FULFILLMENT_STATES,
    LAST_STORE_UPDATE,
    PROCESSED_AT,
)
# What the search reads of each match: never the body.
SUMMARY_FIELDS = (CUSTOMER_ID, STATUS, RECEIVED_AT, PICKED_UP_AT)
# What the conflict rule reads of the stored order for an OMS version, and what it keeps.
VERSION_FIELDS = (
    SOURCE_VERSION,
    RECEIVED_AT,
    CREATED_AT,
    STATUS,
    STORE_STATE,
    PICKED_UP_AT,
    LAST_STORE_UPDATE,
)

# The store updates of an order, one document each under the order's document.
STORE_UPDATES = "store-updates"
UPDATE_DIGEST = "digest"
UPDATE_KIND = "kind"
UPDATE_RECORDED_AT = "recordedAt"
UPDATE_CORRELATION_ID = "correlationId"
UPDATE_CALLER = "caller"
UPDATE_FIELDS = (
    UPDATE_DIGEST,
    UPDATE_KIND,
    UPDATE_RECORDED_AT,
    UPDATE_CORRELATION_ID,
    UPDATE_CALLER,
)

# Pub/Sub message ids are decimal strings of about 16 digits; this bounds them generously.
MAX_MESSAGE_ID_BYTES = 100
SHA256_HEX_BYTES = 64
_TIMESTAMP_BYTES = 8
_INTEGER_BYTES = 8
_DOCUMENT_OVERHEAD_BYTES = 32
_NAME_OVERHEAD_BYTES = 16


@dataclass(frozen=True, slots=True)
class Revision:
    """Which write of a document a read saw, in the store's own terms (Firestore: its update time).

    A write that replaces a document is conditional on it: when someone else wrote
    the document since, the write fails with :class:`~shared.errors.LostRace`.
    """

    token: object


@dataclass(frozen=True, slots=True)
class OrderContent:
    """What the service reads of a body besides its projections: one parse, read once."""

    search_fields: SearchFields
    fulfillments: tuple[Fulfillment, ...]


def content_of(document: Any, business_unit_id: str) -> OrderContent:
    """The content of a parsed body (``{"customerOrder": {...}}``)."""
    order = document.get(ORDER_MEMBER) if isinstance(document, Mapping) else None
    if not isinstance(order, Mapping):
        return OrderContent(NO_SEARCH_FIELDS, ())
    return OrderContent(search_fields_of(order), fulfillments_of(order, business_unit_id))


def content_of_body(body: bytes, business_unit_id: str) -> OrderContent:
    """The content of a stored or published body.

    Ingest validated the body; one that does not parse (a hand-made message whose
    digest was made to match) has none rather than none stored at all.
    """
    try:
        document = parse_accepted_json(body)
    except MalformedJson:
        return OrderContent(NO_SEARCH_FIELDS, ())
    return content_of(document, business_unit_id)


def fulfillment_state(store: str, status: str) -> str:
    """One value of ``fulfillmentStates``: a fulfillment at ``store`` is in ``status``.

    Business unit ids hold no ``/``, so the first ``/`` separates the two.
    """
    return f"{store}/{status}"


def fulfillment_states(fulfillments: Sequence[Fulfillment], state: StoreState) -> tuple[str, ...]:
    """The ``fulfillmentStates`` search field: ``{store}/{status}`` of each store fulfillment.

    The status the store set, else the OMS's; a fulfillment with neither is not in it.
    """
    states = []
    for fulfillment in fulfillments:
        if not fulfillment.is_store_pickup or fulfillment.business_unit_id is None:
            continue
        status = state.fulfillment(fulfillment.fulfillment_id).status or fulfillment.status
        if status is not None:
            states.append(fulfillment_state(fulfillment.business_unit_id, status))
    return tuple(dict.fromkeys(states))


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the conflict rule reads of a stored order for an OMS version, and what it keeps."""

    version: Version
    # None for documents written before createdAt existed.
    created_at: datetime | None
    revision: Revision
    status: str
    # None for an order picked up by the release before fulfillments: its record is
    # made of its body (read the whole order).
    store_state: StoreState | None
    last_store_update: str | None

    def standing(self, statuses: Statuses) -> Stored:
        state = self.store_state or EMPTY_STORE_STATE
        return Stored(self.version, statuses.standing_of(self.status, state.picked_up_any))


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One state of an order as it is written: every stored field but those the store sets."""

    business_unit_id: str
    customer_order_id: str
    body: bytes
    customer_id: str
    status: str
    body_sha256: str
    source_version: int | None
    received_at: datetime
    correlation_id: str
    message_id: str
    created_at: datetime | None
    search_fields: SearchFields
    store_state: StoreState = EMPTY_STORE_STATE
    fulfillment_states: tuple[str, ...] = ()
    # The store update that made this state; None when an OMS version did.
    last_store_update: str | None = None

    @property
    def version(self) -> Version:
        return Version(self.received_at, self.source_version)

    @property
    def basis(self) -> Basis:
        return Basis(self.version, self.store_state.updates)

    @property
    def is_first_version(self) -> bool:
        return self.created_at == self.received_at

    @property
    def picked_up_at(self) -> datetime | None:
        return self.store_state.picked_up_at

    def standing(self, statuses: Statuses) -> Stored:
        return Stored(
            self.version, statuses.standing_of(self.status, self.store_state.picked_up_any)
        )

    def fulfillments(self) -> tuple[Fulfillment, ...]:
        """The fulfillments of the stored version (its body parsed: call once a request)."""
        return content_of_body(self.body, self.business_unit_id).fulfillments

    def view(self, fulfillments: Sequence[Fulfillment] | None = None) -> bytes:
        """The order as shown: the body with the store's record in it (shared.domain.order_view)."""
        if self.store_state.is_empty:
            return self.body
        return order_view(
            self.body,
            self.store_state,
            self.fulfillments() if fulfillments is None else fulfillments,
        )

    @classmethod
    def of_message(
        cls,
        message: OrderMessage,
        previous: StoredVersion | OrderRecord | None,
        content: OrderContent,
    ) -> OrderRecord:
        """The version ``message`` carries, keeping the store's record of ``previous``.

        ``content`` is that of the message's body.
        """
        state = EMPTY_STORE_STATE
        if previous is not None and previous.store_state is not None:
            state = previous.store_state
        return cls(
            business_unit_id=message.business_unit_id,
            customer_order_id=message.customer_order_id,
            body=message.body,
            customer_id=message.customer_id,
            status=message.status,
            body_sha256=message.body_sha256,
            source_version=message.source_version,
            received_at=message.received_at,
            correlation_id=message.correlation_id,
            message_id=message.message_id,
            created_at=message.received_at if previous is None else previous.created_at,
            search_fields=content.search_fields,
            store_state=state,
            fulfillment_states=fulfillment_states(content.fulfillments, state),
            last_store_update=None,
        )

    def with_store_state(
        self, state: StoreState, fulfillments: Sequence[Fulfillment], update_id: str
    ) -> OrderRecord:
        """This order once the store update ``update_id`` made its record ``state``."""
        return replace(
            self,
            store_state=state,
            fulfillment_states=fulfillment_states(fulfillments, state),
            last_store_update=update_id,
        )


@dataclass(frozen=True, slots=True)
class StoredOrder(OrderRecord):
    """A record as read back, with what the store set: the commit time and the revision."""

    processed_at: datetime | None = None
    revision: Revision | None = None


def legacy_last_store_update(received_at: datetime, picked_up_at: datetime | None) -> str | None:
    """A pickup version of the release before fulfillments is its own receivedAt."""
    return LEGACY_PICKUP_ID if picked_up_at is not None and picked_up_at == received_at else None


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One match of the search, as the proxy approach's OMS answered it, its receivedAt and
    the business unit it is stored under (another than the searched one for a pickup
    fulfillment search: shared.domain.search)."""

    business_unit_id: str
    customer_order_id: str
    customer_id: str
    status: str
    received_at: datetime
    picked_up_at: datetime | None = None


def string_size(text: str) -> int:
    """A string value's size in a document or an index entry: its UTF-8 bytes and 1."""
    return len(text.encode("utf-8")) + 1


def largest_fulfillment_state_size(store: str) -> int:
    """The size of the longest ``fulfillmentStates`` value a fulfillment at ``store`` can have."""
    return string_size(fulfillment_state(store, "")) + MAX_FULFILLMENT_STATUS_BYTES


def _array_size(strings: Sequence[str]) -> int:
    """The sum of its values; an empty array 1 byte, as the emulator counts it, where Google's
    page says nothing of it (docs/platform.md#firestore-emulator)."""
    return sum(map(string_size, strings)) or 1


def document_name_size(*path: str) -> int:
    """Each collection and document id of the path as a string, plus 16."""
    return sum(string_size(segment) for segment in path) + _NAME_OVERHEAD_BYTES


# A store update's record, bounded so that the document always has room for it: each item
# of a store fulfillment has two quantities and a time, the order at most MAX_TENDERS
# tenders of at most these sizes (the pos API refuses more).
MAX_TENDERS = 20
MAX_TENDER_ID_BYTES = 128
MAX_TENDER_METHOD_BYTES = 64
MAX_AMOUNT_CHARACTERS = 32
# The JSON of one item's record beside its id, with both quantities at their longest
# (shared.domain.fulfillments.quantity_text), and of one tender beside its strings.
_ITEM_RECORD_BYTES = 128
_TENDER_RECORD_BYTES = 96
_FULFILLMENT_RECORD_BYTES = 64
_STORE_RECORD_BYTES = 256


def store_record_reserve(fulfillments: Sequence[Fulfillment]) -> int:
    """The most the store's record of these fulfillments can take, with its search field."""
    size = _STORE_RECORD_BYTES + MAX_TENDERS * (
        _TENDER_RECORD_BYTES
        + MAX_TENDER_ID_BYTES
        + MAX_TENDER_METHOD_BYTES
        + MAX_AMOUNT_CHARACTERS
        + MAX_UPDATE_ID_BYTES
    )
    for fulfillment in fulfillments:
        if not fulfillment.is_store_pickup:
            continue
        size += _FULFILLMENT_RECORD_BYTES + 2 * len(fulfillment.fulfillment_id.encode("utf-8"))
        size += sum(
            _ITEM_RECORD_BYTES + len(item_id.encode("utf-8")) for item_id in fulfillment.item_ids
        )
        if fulfillment.business_unit_id is not None:
            size += largest_fulfillment_state_size(fulfillment.business_unit_id)
    return size


def document_size(
    business_unit_id: str,
    customer_order_id: str,
    *,
    body_bytes: int,
    customer_id: str,
    status: str,
    search_fields: SearchFields = NO_SEARCH_FIELDS,
    store_reserve: int = 0,
    message_id_bytes: int = MAX_MESSAGE_ID_BYTES,
) -> int:
    """Firestore's size of the order's document, by its documented rules.

    Document name: each collection and document id as a string (UTF-8 bytes + 1)
    plus 16; each field: its name as a string plus its value (bytes: their length,
    string: UTF-8 bytes + 1, timestamp and integer: 8, array: the sum of its values);
    plus 32 for the document. The correlation id is counted at its largest, the
    store's record and its search field at ``store_reserve``.
    """
    name = document_name_size(BUSINESS_UNITS, business_unit_id, CUSTOMER_ORDERS, customer_order_id)
    values = {
        BODY: body_bytes,
        CUSTOMER_ID: string_size(customer_id),
        STATUS: string_size(status),
        BODY_SHA256: SHA256_HEX_BYTES + 1,
        SOURCE_VERSION: _INTEGER_BYTES,
        RECEIVED_AT: _TIMESTAMP_BYTES,
        CREATED_AT: _TIMESTAMP_BYTES,
        STORE_STATE: store_reserve,
        PICKED_UP_AT: _TIMESTAMP_BYTES,
        LAST_STORE_UPDATE: MAX_UPDATE_ID_BYTES + 1,
        CORRELATION_ID: MAX_CORRELATION_ID_BYTES + 1,
        MESSAGE_ID: message_id_bytes + 1,
        PROCESSED_AT: _TIMESTAMP_BYTES,
    }
    # The arrays are written even when empty; the account only when the body has one.
    values[ITEM_IDS] = _array_size(search_fields.item_ids)
    values[ADDITIONAL_INFORMATION_VALUES] = _array_size(search_fields.additional_information_values)
    # Its entries are within the store's reserve; empty, as counted here.
    values[FULFILLMENT_STATES] = _array_size(())
    if search_fields.customer_account_id is not None:
        values[CUSTOMER_ACCOUNT_ID] = string_size(search_fields.customer_account_id)
    fields = sum(string_size(field) + size for field, size in values.items())
    return name + fields + _DOCUMENT_OVERHEAD_BYTES


def unstorable_reason(message: OrderMessage, content: OrderContent) -> str | None:
    """Why Firestore would refuse the document of the order ``message`` carries, or ``None``.

    Ingest's limits make this impossible for what it accepts; a message from
    anywhere else (a hand-made replay) is refused before a write is even tried.
    ``content`` is that of the message's body. Ingest also keeps room for the largest
    record the stores can make of the order (:func:`store_record_reserve`); a message
    of a release before that is stored if it fits as it is.
    """
    body_bytes = len(message.body)
    if body_bytes > FIRESTORE_MAX_FIELD_VALUE_BYTES:
        return (
            f"the body is {body_bytes} bytes, over Firestore's "
            f"{FIRESTORE_MAX_FIELD_VALUE_BYTES} bytes for one field value"
        )
    size = document_size(
        message.business_unit_id,
        message.customer_order_id,
        body_bytes=body_bytes,
        customer_id=message.customer_id,
        status=message.status,
        search_fields=content.search_fields,
    )
    if size > FIRESTORE_MAX_DOCUMENT_BYTES:
        return (
            f"the document would be {size} bytes, over Firestore's "
            f"{FIRESTORE_MAX_DOCUMENT_BYTES} bytes for a document"
        )
    return None
