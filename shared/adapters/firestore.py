"""Firestore adapter of :class:`shared.ports.OrderStore`.

Document ``business-units/{businessUnitId}/customer-orders/{customerOrderId}``:
``customerOrder`` (map, as sent), ``receivedAt`` (timestamp), ``messageId``,
``processedAt`` (server time), plus both ids for collection-group queries.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions
from google.api_core.retry import Retry, if_transient_error
from google.cloud import firestore

from shared.config import Settings
from shared.domain.addresses import document_path
from shared.domain.conflict import Decision, decide
from shared.domain.messages import OrderMessage
from shared.errors import StoreUnavailable, one_line
from shared.ports import OrderStore, StoredOrder

# Firestore did not answer (in time): worth a redelivery or a 503, never a 500.
UNAVAILABLE_ERRORS = (
    exceptions.RetryError,
    exceptions.ServiceUnavailable,
    exceptions.DeadlineExceeded,
)

# Concurrent transactions on one document abort with 409 and the client retries
# them at once; a jittered exponential backoff around the whole transaction lets
# every writer through (docs/platform.md: 20 of 20 instead of 1).
# Inside one round the client's own retries keep the transaction's place in line.
# The deadline stays well inside the processor's timeout, so that a message that
# keeps losing is nacked and redelivered instead of timing out mid-transaction.
TRANSACTION_ATTEMPTS = 5
CONTENTION_INITIAL_DELAY_SECONDS = 0.05
CONTENTION_MAX_DELAY_SECONDS = 2.0
CONTENTION_DEADLINE_SECONDS = 30.0


class KeyedLocks:
    """One lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def is_contention(exc: BaseException) -> bool:
    if isinstance(exc, exceptions.Aborted | exceptions.Conflict):
        return True
    # The transactional wrapper turns an aborted commit into a ValueError (the abort
    # is its cause); an abort before the transaction began surfaces as the failed
    # rollback's ValueError (the abort is its context).
    return isinstance(exc, ValueError) and any(
        isinstance(link, exceptions.Aborted | exceptions.Conflict)
        for link in (exc.__cause__, exc.__context__)
    )


def _contention_retry(deadline_seconds: float) -> Retry:
    return Retry(
        predicate=is_contention,
        initial=CONTENTION_INITIAL_DELAY_SECONDS,
        maximum=CONTENTION_MAX_DELAY_SECONDS,
        multiplier=2.0,
        timeout=deadline_seconds,
    )


def _read_retry(deadline_seconds: float) -> Retry:
    # Without it a read retries an unreachable Firestore until the library's own
    # deadline (300 s for a document read), whatever its timeout, which only bounds
    # each attempt; the ingest GET would hang instead of answering 503.
    return Retry(
        predicate=if_transient_error,
        initial=0.1,
        maximum=1.0,
        multiplier=2.0,
        timeout=deadline_seconds,
    )


def new_firestore_client(settings: Settings) -> firestore.Client:
    return firestore.Client(project=settings.project_id, database=settings.firestore_database)


class FirestoreOrderStore(OrderStore):
    def __init__(
        self,
        client: firestore.Client,
        *,
        timeout_seconds: float,
        contention_deadline_seconds: float = CONTENTION_DEADLINE_SECONDS,
    ) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._retry = _contention_retry(contention_deadline_seconds)
        self._read_retry = _read_retry(timeout_seconds)
        self._document_locks = KeyedLocks()

    @classmethod
    def from_settings(cls, settings: Settings) -> FirestoreOrderStore:
        return cls(
            new_firestore_client(settings), timeout_seconds=settings.firestore_timeout_seconds
        )

    def _ref(self, business_unit_id: str, customer_order_id: str) -> firestore.DocumentReference:
        return self._client.document(document_path(business_unit_id, customer_order_id))

    def upsert_if_newer(self, message: OrderMessage) -> Decision:
        ref = self._ref(message.business_unit_id, message.customer_order_id)
        try:
            # Transactions of one instance on one document only make each other
            # abort (the emulator livelocked 18 of 20 such writers for 120 s): they
            # take turns here, and only other instances' writers contend.
            with self._document_locks.hold(ref.path):
                result: Decision = self._retry(self._upsert_once)(ref, message)
        except exceptions.RetryError as exc:
            raise StoreUnavailable(f"transaction kept aborting: {exc.cause}") from exc
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        return result

    def _upsert_once(self, ref: firestore.DocumentReference, message: OrderMessage) -> Decision:
        timeout = self._timeout

        @firestore.transactional
        def upsert(transaction: firestore.Transaction) -> Decision:
            snapshot = ref.get(transaction=transaction, timeout=timeout)
            stored = snapshot.to_dict() if snapshot.exists else None
            decision = decide(message.received_at, stored.get("receivedAt") if stored else None)
            if decision.writes:
                transaction.set(ref, _document(message))
            return decision

        result: Decision = upsert(self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
        return result

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        try:
            snapshot = self._ref(business_unit_id, customer_order_id).get(
                retry=self._read_retry, timeout=self._timeout
            )
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        if not snapshot.exists:
            return None
        fields = snapshot.to_dict() or {}
        return StoredOrder(
            business_unit_id=business_unit_id,
            customer_order_id=customer_order_id,
            customer_order=fields["customerOrder"],
            received_at=_utc(fields["receivedAt"]),
            message_id=fields.get("messageId", ""),
            processed_at=_utc(fields["processedAt"]) if fields.get("processedAt") else None,
        )


def _document(message: OrderMessage) -> dict[str, Any]:
    return {
        "businessUnitId": message.business_unit_id,
        "customerOrderId": message.customer_order_id,
        "customerOrder": message.customer_order,
        "receivedAt": message.received_at,
        "messageId": message.message_id,
        "processedAt": firestore.SERVER_TIMESTAMP,
    }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
