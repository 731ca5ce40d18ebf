"""The conflict rule as a property of the real transaction code on the Firestore emulator.

Whatever versions of an order exist, delivered in whatever order and however
often, the document ends holding the version with the greatest ``receivedAt``,
and no write ever moves ``receivedAt`` backwards.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.firestore import FirestoreOrderStore
from shared.domain.conflict import Decision
from shared.domain.messages import OrderMessage
from tests.support import order_message, stored_document, unique_id

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

BUSINESS_UNIT = "BU-PROPERTY"
EPOCH = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# Distinct offsets in microseconds; small ones (1 µs apart) are what Hypothesis tries
# first, and they are the ones a truncating timestamp would confuse.
offsets = st.lists(st.integers(0, 10**8), min_size=1, max_size=6, unique=True)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Versions (``receivedAt`` offsets) and a delivery sequence of their indexes.

    Every version is delivered at least once, some more than once, in any order.
    """
    versions = draw(offsets)
    duplicates = draw(st.lists(st.sampled_from(range(len(versions))), max_size=6))
    sequence = draw(st.permutations([*range(len(versions)), *duplicates]))
    return versions, sequence


def _message(order_id: str, offset: int, index: int) -> OrderMessage:
    accepted = order_message(
        BUSINESS_UNIT, order_id, EPOCH + timedelta(microseconds=offset), status=f"V{index}"
    )
    return dataclasses.replace(accepted, message_id=f"m-{index}")


def _stored(client: firestore.Client, order_id: str) -> tuple[datetime, str] | None:
    document = stored_document(client, BUSINESS_UNIT, order_id)
    if document is None:
        return None
    received_at: datetime = document["receivedAt"]
    return received_at.astimezone(UTC), document["status"]


@pytest.fixture(scope="module")
def store(firestore_client: firestore.Client) -> FirestoreOrderStore:
    return FirestoreOrderStore(firestore_client, timeout_seconds=10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deliveries())
def test_any_delivery_order_ends_with_the_newest_and_never_goes_back(
    store: FirestoreOrderStore,
    firestore_client: firestore.Client,
    case: tuple[list[int], list[int]],
) -> None:
    versions, sequence = case
    order_id = unique_id("PROP")
    newest_so_far: int | None = None
    for index in sequence:
        offset = versions[index]
        decision = store.upsert_if_newer(_message(order_id, offset, index))
        if newest_so_far is None or offset > newest_so_far:
            assert decision is Decision.WRITE
            newest_so_far = offset
        elif offset == newest_so_far:
            assert decision is Decision.SKIP_DUPLICATE
        else:
            assert decision is Decision.SKIP_STALE
        # Read after every step: the stored version is always the newest delivered so
        # far, so receivedAt never moved backwards, and the body is that version's.
        newest_index = versions.index(newest_so_far)
        assert _stored(firestore_client, order_id) == (
            EPOCH + timedelta(microseconds=newest_so_far),
            f"V{newest_index}",
        )
    assert newest_so_far == max(versions)


def _watch(read: Callable[[], Any], stop: threading.Event, seen: list[Any]) -> None:
    while not stop.is_set():
        value = read()
        if value is not None:
            seen.append(value)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deliveries())
def test_concurrent_deliveries_end_with_the_newest_and_never_go_back(
    store: FirestoreOrderStore,
    firestore_client: firestore.Client,
    case: tuple[list[int], list[int]],
) -> None:
    # Redeliveries after a crash or a restart can overlap with the live stream.
    versions, sequence = case
    order_id = unique_id("PROP")
    seen: list[tuple[datetime, str]] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(lambda: _stored(firestore_client, order_id), stop, seen)
    )
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=len(sequence)) as pool:
            decisions = list(
                pool.map(
                    lambda index: store.upsert_if_newer(_message(order_id, versions[index], index)),
                    sequence,
                )
            )
    finally:
        stop.set()
        watcher.join()
    newest = max(versions)
    final = _stored(firestore_client, order_id)
    assert final == (EPOCH + timedelta(microseconds=newest), f"V{versions.index(newest)}")
    observed = [received_at for received_at, _ in [*seen, final]]
    assert observed == sorted(observed), "receivedAt moved backwards"
    # Each distinct version is written at most once, and the newest exactly once.
    writes = [index for index, decision in zip(sequence, decisions, strict=True) if decision.writes]
    assert len(writes) == len(set(writes))
    assert versions.index(newest) in writes
