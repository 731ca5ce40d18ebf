"""The conflict rule as a property of the real optimistic writes on the Firestore emulator.

Whatever versions of an order exist, each a pair (``sourceVersion`` or none,
``receivedAt``), delivered in whatever order and however often, one by one or
concurrently, the document ends holding the greatest pair, and no write ever
moves the stored pair backwards. Concurrent deliveries are those of separate
processor instances: each its own writer and its own Firestore client, so that
their reads, decisions and conditional writes race.
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
from shared.domain.conflict import Decision, Verdict
from shared.domain.messages import OrderMessage
from shared.optimistic import OptimisticWriter
from shared.tools.devstack import LocalStack
from tests.support import order_message, store_message, stored_document, unique_id

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

BUSINESS_UNIT = "BU-PROPERTY"
EPOCH = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# A version: a source version (none, or small numbers, so that versions collide and
# receivedAt has to decide) and an offset of receivedAt in microseconds (small ones, 1 µs
# apart, are what Hypothesis tries first: a truncating timestamp would confuse them).
Pair = tuple[int | None, int]
MAX_VERSIONS = MAX_REPEATS = 6
MAX_DELIVERIES = MAX_VERSIONS + MAX_REPEATS
pairs = st.lists(
    st.tuples(st.none() | st.integers(0, 3), st.integers(0, 10**8)),
    min_size=1,
    max_size=MAX_VERSIONS,
    unique=True,
)


def _rank(pair: Pair) -> tuple[int, int]:
    return (-1 if pair[0] is None else pair[0], pair[1])


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Pair], list[int]]:
    """Versions and a delivery sequence of their indexes.

    Every version is delivered at least once, some more than once, in any order.
    """
    versions = draw(pairs)
    duplicates = draw(st.lists(st.sampled_from(range(len(versions))), max_size=MAX_REPEATS))
    sequence = draw(st.permutations([*range(len(versions)), *duplicates]))
    return versions, sequence


def _message(order_id: str, pair: Pair, index: int) -> OrderMessage:
    source_version, offset = pair
    accepted = order_message(
        BUSINESS_UNIT, order_id, EPOCH + timedelta(microseconds=offset), status=f"V{index}"
    )
    return dataclasses.replace(accepted, source_version=source_version, message_id=f"m-{index}")


def _stored(client: firestore.Client, order_id: str) -> tuple[Pair, str] | None:
    document = stored_document(client, BUSINESS_UNIT, order_id)
    if document is None:
        return None
    received_at: datetime = document["receivedAt"]
    offset = (received_at.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)
    return (document["sourceVersion"], offset), document["status"]


@pytest.fixture(scope="module")
def store(firestore_client: firestore.Client) -> FirestoreOrderStore:
    return FirestoreOrderStore(firestore_client, timeout_seconds=10)


@pytest.fixture(scope="module")
def instances(stack: LocalStack) -> list[FirestoreOrderStore]:
    """The stores of as many processor instances as a case has deliveries, each its own client."""
    from google.cloud import firestore

    return [
        FirestoreOrderStore(firestore.Client(project=stack.config.project_id), timeout_seconds=10)
        for _ in range(MAX_DELIVERIES)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deliveries())
def test_any_delivery_order_ends_with_the_greatest_and_never_goes_back(
    store: FirestoreOrderStore,
    firestore_client: firestore.Client,
    case: tuple[list[Pair], list[int]],
) -> None:
    versions, sequence = case
    order_id = unique_id("PROP")
    greatest: Pair | None = None
    for index in sequence:
        pair = versions[index]
        decision = store_message(store, _message(order_id, pair, index)).verdict.decision
        if greatest is None or _rank(pair) > _rank(greatest):
            assert decision is Decision.WRITE
            greatest = pair
        elif pair == greatest:
            assert decision is Decision.SKIP_DUPLICATE
        else:
            assert decision is Decision.SKIP_STALE
        # Read after every step: the stored version is always the greatest delivered so
        # far, so it never moved backwards, and the body is that version's.
        assert _stored(firestore_client, order_id) == (greatest, f"V{versions.index(greatest)}")
    assert greatest == max(versions, key=_rank)


def _watch(read: Callable[[], Any], stop: threading.Event, seen: list[Any]) -> None:
    while not stop.is_set():
        value = read()
        if value is not None:
            seen.append(value)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deliveries())
def test_concurrent_deliveries_end_with_the_greatest_and_never_go_back(
    instances: list[FirestoreOrderStore],
    firestore_client: firestore.Client,
    case: tuple[list[Pair], list[int]],
) -> None:
    # Redeliveries after a crash or a restart, and a migration beside live traffic,
    # overlap with the live stream, on other instances.
    versions, sequence = case
    order_id = unique_id("PROP")
    # All start together, so that their reads come before each other's writes.
    start = threading.Barrier(len(sequence))

    def deliver(delivery: int) -> Verdict:
        index = sequence[delivery]
        message = _message(order_id, versions[index], index)
        start.wait(timeout=30)
        # An instance of its own: nothing makes these writers take turns.
        return store_message(instances[delivery], message, OptimisticWriter()).verdict

    seen: list[tuple[Pair, str]] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(lambda: _stored(firestore_client, order_id), stop, seen)
    )
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=len(sequence)) as pool:
            verdicts = list(pool.map(deliver, range(len(sequence))))
    finally:
        stop.set()
        watcher.join()
    greatest = max(versions, key=_rank)
    final = _stored(firestore_client, order_id)
    assert final == (greatest, f"V{versions.index(greatest)}")
    observed = [_rank(pair) for pair, _ in [*seen, final]]
    assert observed == sorted(observed), "the stored version moved backwards"
    # Each distinct version is written at most once, and the greatest exactly once.
    writes = [index for index, verdict in zip(sequence, verdicts, strict=True) if verdict.writes]
    assert len(writes) == len(set(writes))
    assert versions.index(greatest) in writes
