"""The stored order's size, by Firestore's documented rules, against the API's limits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.fulfillments import PICKUP_STORE, Fulfillment, FulfillmentItem
from shared.domain.limits import (
    FIRESTORE_MAX_DOCUMENT_BYTES,
    MAX_BODY_BYTES,
    MAX_ID_BYTES,
    MAX_PROJECTED_BYTES,
)
from shared.domain.messages import OrderMessage
from shared.domain.store_state import StoreState
from shared.domain.store_updates import (
    RequestedItem,
    RequestedTender,
    StoreUpdate,
    UpdateKind,
    apply_update,
    assess,
)
from shared.domain.stored_order import (
    MAX_TENDERS,
    content_of_body,
    document_name_size,
    document_size,
    fulfillment_states,
    store_record_reserve,
    unstorable_reason,
)


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
    # receivedAt 11 + 8, createdAt 10 + 8, storeState 11 + 0 (its reserve, here none),
    # pickedUpAt 11 + 8, lastStoreUpdate 16 + 129 (at its largest), correlationId 14 + 129
    # (at its largest), messageId 10 + 1, processedAt 12 + 8, itemIds 8 + 0,
    # additionalInformationValues 28 + 1 and fulfillmentStates 18 + 1 (an empty array is 1
    # byte, as the emulator counts it).
    assert empty == name + 566 + 32
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


def test_the_largest_order_the_api_accepts_has_room_for_the_stores_record() -> None:
    # One item in one store fulfillment, every id and status at its longest, and twenty tenders.
    fulfillment = Fulfillment(
        LARGEST_ID, PICKUP_STORE, LARGEST_ID, (FulfillmentItem(LARGEST_PROJECTION, Decimal(1)),)
    )
    size = document_size(
        LARGEST_ID,
        LARGEST_ID,
        body_bytes=MAX_BODY_BYTES,
        customer_id=LARGEST_PROJECTION,
        status=LARGEST_PROJECTION,
        store_reserve=store_record_reserve([fulfillment]),
    )
    assert size <= FIRESTORE_MAX_DOCUMENT_BYTES


def test_the_reserve_holds_the_largest_record_a_store_can_make() -> None:
    fulfillment = Fulfillment(
        "F" * 511, PICKUP_STORE, "B" * 511, (FulfillmentItem("I" * 1500, Decimal(1) / 3),)
    )
    updates = [
        StoreUpdate(
            f"u{index}",
            UpdateKind.PICKUP,
            items=(RequestedItem("I" * 1500, Decimal("0.0000000000000001")),),
            tenders=(RequestedTender(f"{index:0>128}", "9" * 32, "M" * 64),),
        )
        for index in range(MAX_TENDERS)
    ]
    state = StoreState()
    for update in updates:
        assessment = assess(update, [fulfillment], state, None)
        state = apply_update(
            dataclasses.replace(update, update_id="U" * 128),
            assessment,
            state,
            recorded_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            correlation_id="c",
        )
    fulfillment_state = fulfillment_states([fulfillment], state)
    written = len(state.encode()) + 1 + sum(len(entry) + 1 for entry in fulfillment_state)
    assert written <= store_record_reserve([fulfillment])


def test_what_does_not_fit_is_named() -> None:
    def reason(message: OrderMessage) -> str | None:
        return unstorable_reason(message, content_of_body(message.body, "BU"))

    assert reason(_message(body_bytes=MAX_BODY_BYTES, customer_id="C", status="S")) is None
    too_large = reason(
        _message(body_bytes=FIRESTORE_MAX_DOCUMENT_BYTES - 300, customer_id="C" * 900, status="S")
    )
    assert too_large is not None
    assert "over Firestore's 1048576 bytes for a document" in too_large
    field_too_large = reason(_message(body_bytes=1_048_488, customer_id="", status=""))
    assert field_too_large is not None
    assert "1048487 bytes for one field value" in field_too_large
