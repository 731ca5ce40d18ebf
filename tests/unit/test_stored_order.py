"""The stored order's size, by Firestore's documented rules, against the API's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.limits import (
    FIRESTORE_MAX_DOCUMENT_BYTES,
    MAX_BODY_BYTES,
    MAX_ID_BYTES,
    MAX_PROJECTED_BYTES,
)
from shared.domain.messages import OrderMessage
from shared.domain.stored_order import document_name_size, document_size, unstorable_reason


def _message(*, body_bytes: int, customer_id: str, status: str) -> OrderMessage:
    return OrderMessage.accepted(
        "BU", "CO", datetime(2026, 12, 1, tzinfo=UTC), b"x" * body_bytes,
        customer_id=customer_id, status=status,
    )  # fmt: skip


LARGEST_ID = "é" * (MAX_ID_BYTES // 2) + "a"
LARGEST_PROJECTION = "é" * (MAX_PROJECTED_BYTES // 2)


def test_the_documented_example_name_is_reproduced() -> None:
    # Firestore's "Storage size calculations" page: users/jeff/tasks/my_task_id is 44.
    assert document_name_size("users", "jeff", "tasks", "my_task_id") == 44


def test_a_document_is_its_name_its_fields_and_32() -> None:
    empty = document_size("", "", body_bytes=0, customer_id="", status="", message_id_bytes=0)
    name = document_name_size("business-units", "", "customer-orders", "")
    # body 5 + 0, customerId 11 + 1, status 7 + 1, bodySha256 11 + 65, sourceVersion 14 + 8,
    # receivedAt 11 + 8, createdAt 10 + 8, pickedUpAt 11 + 8, correlationId 14 + 129 (at its
    # largest), messageId 10 + 1, processedAt 12 + 8, itemIds 8 + 0 and
    # additionalInformationValues 28 + 0 (empty arrays).
    assert empty == name + 389 + 32
    assert document_size(
        "ab", "c", body_bytes=10, customer_id="é", status="", message_id_bytes=0
    ) == (empty + 3 + 10 + 2)


def test_the_largest_order_the_api_accepts_fits_a_document() -> None:
    assert len(LARGEST_ID.encode()) == MAX_ID_BYTES
    assert len(LARGEST_PROJECTION.encode()) == MAX_PROJECTED_BYTES
    size = document_size(
        LARGEST_ID,
        LARGEST_ID,
        body_bytes=MAX_BODY_BYTES,
        customer_id=LARGEST_PROJECTION,
        status=LARGEST_PROJECTION,
    )
    assert size <= FIRESTORE_MAX_DOCUMENT_BYTES
    # The margin the round body limit leaves, for fields a later version may add.
    assert FIRESTORE_MAX_DOCUMENT_BYTES - size > 40_000


def test_what_does_not_fit_is_named() -> None:
    assert (
        unstorable_reason(_message(body_bytes=MAX_BODY_BYTES, customer_id="C", status="S")) is None
    )
    too_large = unstorable_reason(
        _message(body_bytes=FIRESTORE_MAX_DOCUMENT_BYTES - 300, customer_id="C" * 900, status="S")
    )
    assert too_large is not None
    assert "over Firestore's 1048576 bytes for a document" in too_large
    field_too_large = unstorable_reason(_message(body_bytes=1_048_488, customer_id="", status=""))
    assert field_too_large is not None
    assert "1048487 bytes for one field value" in field_too_large
