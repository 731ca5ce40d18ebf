"""The stored order: what the store keeps of an accepted order, field by field, and its size.

One Firestore document per order, at ``business-units/{BU}/customer-orders/{ID}``:

===========================  =========  ========================================================
field                        type       what
===========================  =========  ========================================================
body                         bytes      the PUT body exactly as the OMS sent it (GET answers it)
customerId                   string     projected from the body: searched, and in the answer
status                       string     projected from the body: searched, and in the answer
customerAccountId            string     invoicePaymentInstructions.customerAccountId, searched;
                                        absent when the body has none
itemIds                      array      the body's distinct items[].itemId, searched
additionalInformationValues  array      the distinct values of invoicePaymentInstructions
                                        .additionalInformation[], searched
bodySha256                   string     hex SHA-256 of ``body``: the GET's strong ETag
sourceVersion                integer    the OMS's version of the order, or null (conflict rule)
receivedAt                   timestamp  when ingest accepted this version (the conflict rule;
                                        the search's range and the order of its answer)
createdAt                    timestamp  the receivedAt of the first stored version (kept by
                                        every later version: an event says created or updated)
pickedUpAt                   timestamp  when the POS recorded the pickup, or null; kept by
                                        every later version (no cancellation after it)
correlationId                string     the id of the PUT that carried this version
messageId                    string     the Pub/Sub message that carried it
processedAt                  timestamp  the commit time, set by Firestore
===========================  =========  ========================================================

A pickup is a version of its own: the stored body with the picked-up status and a
``pickedUpAt`` member, at the version :func:`~shared.domain.conflict.pickup_version`
gives; its ``receivedAt`` is its ``pickedUpAt``, which is how it is told from the
OMS's versions.

Keeping the body as bytes makes the document's size a sum of lengths and GET byte
exact. Only the search's fields are indexed, each in the one way the search needs
(:mod:`shared.domain.search_index`; ``terraform/firestore.tf`` exempts every other
field and creates those indexes; a test holds the lists together). Documents of the
releases before the search fields have none of the three: the store reads them
back with the fields their body gives, so that their next version has them, and
``orders-reindex`` writes them to those that get no next version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.addresses import BUSINESS_UNITS, CUSTOMER_ORDERS
from shared.domain.conflict import Statuses, Stored, Version
from shared.domain.limits import (
    FIRESTORE_MAX_DOCUMENT_BYTES,
    FIRESTORE_MAX_FIELD_VALUE_BYTES,
    MAX_CORRELATION_ID_BYTES,
)
from shared.domain.messages import OrderMessage, sha256_hex
from shared.domain.search_fields import NO_SEARCH_FIELDS, SearchFields, search_fields_of_body

BODY = "body"
CUSTOMER_ID = "customerId"
STATUS = "status"
CUSTOMER_ACCOUNT_ID = "customerAccountId"
ITEM_IDS = "itemIds"
ADDITIONAL_INFORMATION_VALUES = "additionalInformationValues"
BODY_SHA256 = "bodySha256"
SOURCE_VERSION = "sourceVersion"
RECEIVED_AT = "receivedAt"
CREATED_AT = "createdAt"
PICKED_UP_AT = "pickedUpAt"
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
    BODY_SHA256,
    SOURCE_VERSION,
    RECEIVED_AT,
    CREATED_AT,
    PICKED_UP_AT,
    CORRELATION_ID,
    MESSAGE_ID,
    PROCESSED_AT,
)
# What the search reads of each match: never the body.
SUMMARY_FIELDS = (CUSTOMER_ID, STATUS, RECEIVED_AT, PICKED_UP_AT)
# What the conflict rule reads of the stored version, and what a new version keeps of it.
VERSION_FIELDS = (SOURCE_VERSION, RECEIVED_AT, CREATED_AT, STATUS, PICKED_UP_AT)

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
class StoredVersion:
    """What the conflict rule reads of a stored order: its version, and what a new one keeps."""

    version: Version
    # None for documents written before createdAt existed.
    created_at: datetime | None
    revision: Revision
    status: str
    picked_up_at: datetime | None

    def standing(self, statuses: Statuses) -> Stored:
        return Stored(self.version, statuses.standing_of(self.status, self.picked_up_at))

    @property
    def is_pickup_version(self) -> bool:
        return self.picked_up_at == self.version.received_at


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One version of an order as it is written: every stored field but those the store sets."""

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
    picked_up_at: datetime | None
    search_fields: SearchFields

    @property
    def version(self) -> Version:
        return Version(self.received_at, self.source_version)

    @property
    def is_first_version(self) -> bool:
        return self.created_at == self.received_at

    @property
    def is_pickup_version(self) -> bool:
        return self.picked_up_at == self.received_at

    def standing(self, statuses: Statuses) -> Stored:
        return Stored(self.version, statuses.standing_of(self.status, self.picked_up_at))

    @classmethod
    def of_message(
        cls,
        message: OrderMessage,
        previous: StoredVersion | None,
        search_fields: SearchFields | None = None,
    ) -> OrderRecord:
        """The record of the version ``message`` carries, over the ``previous`` stored one.

        ``search_fields`` are those of the message's body, when the caller has them already.
        """
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
            picked_up_at=None if previous is None else previous.picked_up_at,
            search_fields=(
                search_fields_of_body(message.body) if search_fields is None else search_fields
            ),
        )

    @classmethod
    def of_pickup(
        cls,
        stored: OrderRecord,
        version: Version,
        body: bytes,
        *,
        status: str,
        correlation_id: str,
        message_id: str,
    ) -> OrderRecord:
        """The pickup version of ``stored``: ``body`` (its body picked up) at ``version``."""
        return cls(
            business_unit_id=stored.business_unit_id,
            customer_order_id=stored.customer_order_id,
            body=body,
            customer_id=stored.customer_id,
            status=status,
            body_sha256=sha256_hex(body),
            source_version=version.source_version,
            received_at=version.received_at,
            correlation_id=correlation_id,
            message_id=message_id,
            created_at=stored.created_at,
            picked_up_at=version.received_at,
            # The pickup changes the status and adds pickedUpAt, neither of them searched here.
            search_fields=stored.search_fields,
        )


@dataclass(frozen=True, slots=True)
class StoredOrder(OrderRecord):
    """A record as read back, with what the store set: the commit time and the revision."""

    processed_at: datetime | None = None
    revision: Revision | None = None


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One match of the search, as the proxy approach's OMS answered it, and its receivedAt."""

    customer_order_id: str
    customer_id: str
    status: str
    received_at: datetime
    picked_up_at: datetime | None = None


def _string_size(text: str) -> int:
    return len(text.encode("utf-8")) + 1


def document_name_size(*path: str) -> int:
    """Each collection and document id of the path as a string, plus 16."""
    return sum(_string_size(segment) for segment in path) + _NAME_OVERHEAD_BYTES


def document_size(
    business_unit_id: str,
    customer_order_id: str,
    *,
    body_bytes: int,
    customer_id: str,
    status: str,
    search_fields: SearchFields = NO_SEARCH_FIELDS,
    message_id_bytes: int = MAX_MESSAGE_ID_BYTES,
) -> int:
    """Firestore's size of the order's document, by its documented rules.

    Document name: each collection and document id as a string (UTF-8 bytes + 1)
    plus 16; each field: its name as a string plus its value (bytes: their length,
    string: UTF-8 bytes + 1, timestamp and integer: 8, array: the sum of its values);
    plus 32 for the document. The correlation id is counted at its largest.
    """
    name = document_name_size(BUSINESS_UNITS, business_unit_id, CUSTOMER_ORDERS, customer_order_id)
    values = {
        BODY: body_bytes,
        CUSTOMER_ID: _string_size(customer_id),
        STATUS: _string_size(status),
        BODY_SHA256: SHA256_HEX_BYTES + 1,
        SOURCE_VERSION: _INTEGER_BYTES,
        RECEIVED_AT: _TIMESTAMP_BYTES,
        CREATED_AT: _TIMESTAMP_BYTES,
        PICKED_UP_AT: _TIMESTAMP_BYTES,
        CORRELATION_ID: MAX_CORRELATION_ID_BYTES + 1,
        MESSAGE_ID: message_id_bytes + 1,
        PROCESSED_AT: _TIMESTAMP_BYTES,
    }
    # Both arrays are written even when empty; the account only when the body has one.
    values[ITEM_IDS] = sum(map(_string_size, search_fields.item_ids))
    values[ADDITIONAL_INFORMATION_VALUES] = sum(
        map(_string_size, search_fields.additional_information_values)
    )
    if search_fields.customer_account_id is not None:
        values[CUSTOMER_ACCOUNT_ID] = _string_size(search_fields.customer_account_id)
    fields = sum(_string_size(field) + size for field, size in values.items())
    return name + fields + _DOCUMENT_OVERHEAD_BYTES


def unstorable_reason(
    message: OrderMessage | OrderRecord, search_fields: SearchFields | None = None
) -> str | None:
    """Why Firestore would refuse the document of the order ``message`` carries, or ``None``.

    Ingest's limits make this impossible for what it accepts; a message from
    anywhere else (a hand-made replay) is refused before a write is even tried.
    A message's search fields are those its body gives (``search_fields``, when the
    caller has them already).
    """
    if isinstance(message, OrderRecord):
        search_fields = message.search_fields
    elif search_fields is None:
        search_fields = search_fields_of_body(message.body)
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
        search_fields=search_fields,
    )
    if size > FIRESTORE_MAX_DOCUMENT_BYTES:
        return (
            f"the document would be {size} bytes, over Firestore's "
            f"{FIRESTORE_MAX_DOCUMENT_BYTES} bytes for a document"
        )
    return None
