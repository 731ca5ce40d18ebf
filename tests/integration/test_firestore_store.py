"""The Firestore adapter against the real emulator: the conditional upsert and contention on one order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from shared.adapters.firestore import FirestoreOrderStore
from shared.config import Settings
from shared.domain.conflict import Decision
from shared.domain.messages import OrderMessage
from shared.tools.devstack import LocalStack
from tests.support import order_body, unique_id

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def new_store(firestore_client: firestore.Client) -> FirestoreOrderStore:
    return FirestoreOrderStore(
        firestore_client,
        timeout_seconds=Settings(project_id="unused").firestore_timeout_seconds,
        # Each round of colliding transactions waits out the emulator's lock
        # timeout; on a loaded 2-core machine the production 30 s is not always enough.
        contention_deadline_seconds=120,
    )


@pytest.fixture(scope="module")
def store(stack: LocalStack, firestore_client: firestore.Client) -> FirestoreOrderStore:
    return new_store(firestore_client)


def version(order_id: str, number: int, at: datetime) -> OrderMessage:
    body = order_body(order_id, version=number)["customerOrder"]
    return OrderMessage("BU1", order_id, at, body, message_id=f"m-{number}")


def test_the_conditional_upsert_follows_the_conflict_rule(store: FirestoreOrderStore) -> None:
    order_id = unique_id()
    assert store.get("BU1", order_id) is None
    assert store.upsert_if_newer(version(order_id, 2, T0)) is Decision.WRITE
    assert (
        store.upsert_if_newer(version(order_id, 1, T0 - timedelta(microseconds=1)))
        is Decision.SKIP_STALE
    )
    assert store.upsert_if_newer(version(order_id, 3, T0)) is Decision.SKIP_DUPLICATE
    stored = store.get("BU1", order_id)
    assert stored is not None
    assert stored.customer_order["version"] == 2
    assert stored.received_at == T0
    assert stored.message_id == "m-2"
    assert stored.processed_at is not None


def test_concurrent_writers_on_one_order_all_finish_and_the_newest_wins(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    """Writers of two instances (two stores) at once: the instances' transactions collide."""
    instances = [new_store(firestore_client), new_store(firestore_client)]
    order_id = unique_id()
    writers = 20
    outcomes: list[Decision | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(number: int) -> None:
        start.wait()
        try:
            outcome: Decision | BaseException = instances[number % 2].upsert_if_newer(
                version(order_id, number, T0 + timedelta(milliseconds=number))
            )
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
    stored = instances[0].get("BU1", order_id)
    assert stored is not None
    assert stored.customer_order["version"] == writers - 1
