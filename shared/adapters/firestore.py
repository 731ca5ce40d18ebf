"""Firestore adapter of :class:`shared.ports.OrderStore`.

One document per order at ``business-units/{BU}/customer-orders/{ID}``, with the
fields :mod:`shared.domain.stored_order` defines: the body as bytes, its
projections and the version's metadata.
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
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from shared.config import Settings
from shared.domain import stored_order as fields
from shared.domain.addresses import collection_path, document_path
from shared.domain.conflict import Verdict, Version, decide
from shared.domain.messages import OrderMessage
from shared.domain.stored_order import OrderSummary, StoredOrder
from shared.errors import StoreRefused, StoreUnavailable, one_line
from shared.ports import OrderStore

# Firestore did not answer (in time): worth a redelivery or a 503, never a 500.
UNAVAILABLE_ERRORS = (
    exceptions.RetryError,
    exceptions.ServiceUnavailable,
    exceptions.DeadlineExceeded,
)
DOCUMENT_ID = FieldPath.document_id()
# Firestore refused the write itself (a document over its limits): no retry can store it.
REFUSED_ERRORS = (exceptions.InvalidArgument,)

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

    def upsert_if_newer(self, message: OrderMessage) -> Verdict:
        ref = self._ref(message.business_unit_id, message.customer_order_id)
        try:
            # Transactions of one instance on one document only make each other
            # abort (the emulator livelocked 18 of 20 such writers for 120 s): they
            # take turns here, and only other instances' writers contend.
            with self._document_locks.hold(ref.path):
                result: Verdict = self._retry(self._upsert_once)(ref, message)
        except exceptions.RetryError as exc:
            raise StoreUnavailable(f"transaction kept aborting: {exc.cause}") from exc
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        except REFUSED_ERRORS as exc:
            raise StoreRefused(one_line(exc)) from exc
        return result

    def _upsert_once(self, ref: firestore.DocumentReference, message: OrderMessage) -> Verdict:
        timeout = self._timeout

        @firestore.transactional
        def upsert(transaction: firestore.Transaction) -> Verdict:
            snapshot = ref.get(
                field_paths=fields.VERSION_FIELDS, transaction=transaction, timeout=timeout
            )
            verdict = decide(message.version, _version(snapshot))
            if verdict.writes:
                transaction.set(ref, _document(message))
            return verdict

        result: Verdict = upsert(self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
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
        stored = snapshot.to_dict() or {}
        processed_at = stored.get(fields.PROCESSED_AT)
        return StoredOrder(
            business_unit_id=business_unit_id,
            customer_order_id=customer_order_id,
            body=stored[fields.BODY],
            customer_id=stored[fields.CUSTOMER_ID],
            status=stored[fields.STATUS],
            body_sha256=stored[fields.BODY_SHA256],
            source_version=stored.get(fields.SOURCE_VERSION),
            received_at=_utc(stored[fields.RECEIVED_AT]),
            correlation_id=stored.get(fields.CORRELATION_ID, ""),
            message_id=stored.get(fields.MESSAGE_ID, ""),
            processed_at=_utc(processed_at) if processed_at else None,
        )

    def find_by_customer(
        self, business_unit_id: str, customer_id: str, *, limit: int, after: str | None
    ) -> list[OrderSummary]:
        collection = self._client.collection(collection_path(business_unit_id))
        # Equality on customerId, in document id order: served by customerId's
        # ascending single-field index, the only index terraform/firestore.tf keeps.
        query = (
            collection.where(filter=FieldFilter(fields.CUSTOMER_ID, "==", customer_id))
            .order_by(DOCUMENT_ID)
            .select(fields.SUMMARY_FIELDS)
            .limit(limit)
        )
        if after is not None:
            query = query.start_after({DOCUMENT_ID: collection.document(after)})
        try:
            snapshots = list(query.stream(retry=self._read_retry, timeout=self._timeout))
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        return [
            OrderSummary(
                customer_order_id=snapshot.id,
                customer_id=snapshot.get(fields.CUSTOMER_ID),
                status=snapshot.get(fields.STATUS),
            )
            for snapshot in snapshots
        ]


def _document(message: OrderMessage) -> dict[str, Any]:
    return {
        fields.BODY: message.body,
        fields.CUSTOMER_ID: message.customer_id,
        fields.STATUS: message.status,
        fields.BODY_SHA256: message.body_sha256,
        fields.SOURCE_VERSION: message.source_version,
        fields.RECEIVED_AT: message.received_at,
        fields.CORRELATION_ID: message.correlation_id,
        fields.MESSAGE_ID: message.message_id,
        fields.PROCESSED_AT: firestore.SERVER_TIMESTAMP,
    }


def _version(snapshot: firestore.DocumentSnapshot[Any]) -> Version | None:
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    return Version(_utc(stored[fields.RECEIVED_AT]), stored.get(fields.SOURCE_VERSION))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
