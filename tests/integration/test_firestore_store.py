"""The Firestore adapter against the real emulator: the conditional upsert and contention on one order."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore

from shared.adapters.firestore import FirestoreOrderStore
from shared.config import Settings
from shared.domain import stored_order
from shared.domain.addresses import document_path
from shared.domain.conflict import Decision
from shared.domain.limits import (
    FIRESTORE_MAX_DOCUMENT_BYTES,
    MAX_CORRELATION_ID_BYTES,
    MAX_UPDATE_ID_BYTES,
)
from shared.domain.messages import OrderMessage, PickupMessage, decode_message
from shared.domain.search_fields import SearchFields
from shared.domain.stored_order import document_size
from shared.domain.timestamps import parse_timestamp
from shared.errors import StoreRefused
from shared.optimistic import OptimisticWriter
from shared.tools.devstack import LocalStack
from tests.support import (
    FORMATS,
    order_message,
    record_store_update,
    store_message,
    unique_id,
    write_stored_fixture,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def new_store(firestore_client: firestore.Client) -> FirestoreOrderStore:
    return FirestoreOrderStore(
        firestore_client, timeout_seconds=Settings(project_id="unused").firestore_timeout_seconds
    )


def new_writer() -> OptimisticWriter:
    # Twenty writers of one order lose most races to each other; on a loaded
    # 2-core machine the production 30 s is not always enough for the last one.
    return OptimisticWriter(deadline_seconds=120)


@pytest.fixture(scope="module")
def store(stack: LocalStack, firestore_client: firestore.Client) -> FirestoreOrderStore:
    return new_store(firestore_client)


def version(order_id: str, number: int, at: datetime) -> OrderMessage:
    accepted = order_message("BU1", order_id, at, version=number)
    return dataclasses.replace(accepted, message_id=f"m-{number}")


def test_the_conditional_upsert_follows_the_conflict_rule(store: FirestoreOrderStore) -> None:
    order_id = unique_id()
    assert store.get("BU1", order_id) is None
    assert store_message(store, version(order_id, 2, T0)).verdict.decision is Decision.WRITE
    assert (
        store_message(store, version(order_id, 1, T0 - timedelta(microseconds=1))).verdict.decision
        is Decision.SKIP_STALE
    )
    assert (
        store_message(store, version(order_id, 3, T0)).verdict.decision is Decision.SKIP_DUPLICATE
    )
    stored = store.get("BU1", order_id)
    assert stored is not None
    assert json.loads(stored.body)["customerOrder"]["version"] == 2
    assert stored.received_at == T0
    assert stored.message_id == "m-2"
    assert stored.processed_at is not None


def test_concurrent_writers_on_one_order_all_finish_and_the_newest_wins(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    """Writers of two instances (two stores) at once: the instances' writes collide."""
    instances = [
        (new_store(firestore_client), new_writer()),
        (new_store(firestore_client), new_writer()),
    ]
    order_id = unique_id()
    writers = 20
    outcomes: list[Decision | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(number: int) -> None:
        start.wait()
        try:
            instance, writes = instances[number % 2]
            message = version(order_id, number, T0 + timedelta(milliseconds=number))
            outcome: Decision | BaseException = store_message(
                instance, message, writes
            ).verdict.decision
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert failures == []
    assert Decision.WRITE in outcomes
    stored = instances[0][0].get("BU1", order_id)
    assert stored is not None
    assert json.loads(stored.body)["customerOrder"]["version"] == writers - 1


SEARCH_FIELDS = SearchFields("ACC-778", ("7310865004703", "I-é"), ("REQ-2026-0042",))


def _document_of_size(target: int, order_id: str) -> tuple[dict[str, Any], int]:
    def size_of(body_bytes: int) -> int:
        return document_size(
            "BU-SIZE",
            order_id,
            body_bytes=body_bytes,
            customer_id="C",
            status="S",
            search_fields=SEARCH_FIELDS,
        )

    fixed = size_of(0)
    body_bytes = target - fixed
    message_id = "1" * stored_order.MAX_MESSAGE_ID_BYTES
    document = {
        stored_order.BODY: b"x" * body_bytes,
        stored_order.CUSTOMER_ID: "C",
        stored_order.STATUS: "S",
        stored_order.CUSTOMER_ACCOUNT_ID: SEARCH_FIELDS.customer_account_id,
        stored_order.ITEM_IDS: list(SEARCH_FIELDS.item_ids),
        stored_order.ADDITIONAL_INFORMATION_VALUES: list(
            SEARCH_FIELDS.additional_information_values
        ),
        stored_order.BODY_SHA256: "0" * stored_order.SHA256_HEX_BYTES,
        stored_order.SOURCE_VERSION: 2**63 - 1,
        stored_order.RECEIVED_AT: T0,
        stored_order.CREATED_AT: T0,
        # At its largest, a timestamp: an order not picked up holds null, 7 bytes less.
        stored_order.PICKED_UP_AT: T0,
        # The store's record at the size of its reserve (none here) and its search field.
        stored_order.STORE_STATE: b"",
        stored_order.FULFILLMENT_STATES: [],
        stored_order.LAST_STORE_UPDATE: "u" * MAX_UPDATE_ID_BYTES,
        stored_order.CORRELATION_ID: "c" * MAX_CORRELATION_ID_BYTES,
        stored_order.MESSAGE_ID: message_id,
        stored_order.PROCESSED_AT: T0,
    }
    return document, size_of(body_bytes)


def test_the_size_rule_agrees_with_the_emulator_to_the_byte(
    firestore_client: firestore.Client,
) -> None:
    """document_size follows Firestore's documented rules; the emulator enforces the limit."""
    order_id = unique_id()
    reference = firestore_client.document(document_path("BU-SIZE", order_id))
    largest, size = _document_of_size(FIRESTORE_MAX_DOCUMENT_BYTES, order_id)
    assert size == FIRESTORE_MAX_DOCUMENT_BYTES
    reference.set(largest)
    one_more, size = _document_of_size(FIRESTORE_MAX_DOCUMENT_BYTES + 1, order_id)
    assert size == FIRESTORE_MAX_DOCUMENT_BYTES + 1
    with pytest.raises(exceptions.InvalidArgument, match="maximum entity size is 1048576"):
        reference.set(one_more)


def test_a_write_firestore_refuses_is_a_permanent_refusal(store: FirestoreOrderStore) -> None:
    # Past what ingest accepts, so only a message from elsewhere could carry it.
    body = b'{"customerOrder": {"pad": "' + b"x" * FIRESTORE_MAX_DOCUMENT_BYTES + b'"}}'
    message = OrderMessage.accepted("BU1", unique_id(), T0, body, customer_id="C", status="S")
    with pytest.raises(StoreRefused, match="InvalidArgument"):
        store_message(store, message)


def test_an_order_stored_before_pickups_existed_is_read_and_can_be_picked_up(
    store: FirestoreOrderStore, firestore_client: firestore.Client
) -> None:
    order_id = unique_id("FORMAT")
    fixture = write_stored_fixture(
        firestore_client, "stored-order-before-pickups.json", "BU-FORMAT", order_id
    )
    stored = store.read_version("BU-FORMAT", order_id)
    assert stored is not None
    assert stored.store_state is not None
    assert stored.store_state.is_empty
    assert stored.created_at is None
    assert stored.status == fixture["status"]
    assert record_store_update(store, "BU-FORMAT", order_id).verdict.decision is Decision.WRITE
    picked_up = store.get("BU-FORMAT", order_id)
    assert picked_up is not None
    # The OMS's own status and body are untouched; the store's record says it all.
    assert picked_up.status == fixture["status"]
    assert picked_up.body == fixture["body"].encode()
    assert picked_up.source_version == fixture["sourceVersion"]
    assert picked_up.picked_up_at is not None
    assert json.loads(picked_up.view())["customerOrder"]["fulfillments"][0]["status"] == "FULFILLED"


def test_an_order_the_release_before_picked_up_reads_as_handed_out_whole(
    store: FirestoreOrderStore, firestore_client: firestore.Client
) -> None:
    order_id = unique_id("FORMAT")
    fixture = write_stored_fixture(
        firestore_client,
        "stored-order-picked-up-before-fulfillments.json",
        "BU-FORMAT",
        order_id,
    )
    stored = store.get("BU-FORMAT", order_id)
    assert stored is not None
    view = json.loads(stored.view())
    # Its body as that release stored it: the picked-up status and pickedUpAt.
    assert view["customerOrder"]["status"] == "PICKED_UP"
    assert view["customerOrder"]["pickedUpAt"] == fixture["pickedUpAt"]
    [fulfillment] = view["customerOrder"]["fulfillments"]
    assert fulfillment["status"] == "FULFILLED"
    assert [item["pickedUpQuantity"] for item in fulfillment["items"]] == [2, 1]
    assert stored.picked_up_at == parse_timestamp(fixture["pickedUpAt"])
    # Pickup beats cancellation still: a cancellation of any version is refused.
    cancel = json.loads(fixture["body"])
    cancel["customerOrder"]["status"] = "CANCELLED"
    del cancel["customerOrder"]["pickedUpAt"]
    message = order_message("BU-FORMAT", order_id, datetime.now(UTC), body=cancel)
    message = dataclasses.replace(message, source_version=9)
    assert store_message(store, message).verdict.decision is Decision.REFUSE_CANCELLATION
    # An OMS version that keeps everything is stored, with the record made of the old body.
    keep = json.loads(fixture["body"])
    keep["customerOrder"]["status"] = "COLLECTED"
    applied = store_message(
        store,
        dataclasses.replace(
            order_message("BU-FORMAT", order_id, datetime.now(UTC), body=keep), source_version=10
        ),
    )
    assert applied.verdict.decision is Decision.WRITE
    after = store.get("BU-FORMAT", order_id)
    assert after is not None
    assert after.status == "COLLECTED"
    assert after.store_state.picked_up_any
    assert after.picked_up_at == parse_timestamp(fixture["pickedUpAt"])


def test_a_field_a_later_release_wrote_survives_every_write_of_this_one(
    store: FirestoreOrderStore, firestore_client: firestore.Client
) -> None:
    """A rollback erases nothing: this release writes the fields it knows, under a mask."""
    order_id = unique_id("FUTURE")
    store_message(store, order_message("BU-FUTURE", order_id, T0))
    reference = firestore_client.document(document_path("BU-FUTURE", order_id))
    reference.update({"fieldOfALaterRelease": {"kept": True}})
    store_message(store, order_message("BU-FUTURE", order_id, T0 + timedelta(minutes=1)))
    assert record_store_update(store, "BU-FUTURE", order_id).verdict.writes
    store_message(store, order_message("BU-FUTURE", order_id, T0 + timedelta(minutes=2)))
    document = reference.get().to_dict()
    assert document is not None
    assert document["fieldOfALaterRelease"] == {"kept": True}
    assert document["receivedAt"] == T0 + timedelta(minutes=2)
    assert document["storeState"]


def test_a_pickup_message_of_this_release_decodes() -> None:
    fixture = json.loads((FORMATS / "pickup-message.json").read_text())
    message = decode_message(base64.b64decode(fixture["data"]), fixture["attributes"], "9")
    assert message == PickupMessage(
        "BU1",
        "CO-FORMAT-1",
        parse_timestamp("2026-12-06T09:14:03.518204Z"),
        "pos-format-1",
    )
