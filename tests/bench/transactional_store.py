"""The processor's upsert as it was: one Firestore transaction per message (bench baseline only).

``make bench`` measures the shipped optimistic upsert (a read, then a write
preconditioned on it) against this one on the same emulator in the same run:
three RPCs a message (begin, read, commit) and a lock on the document for as
long as the transaction lives.
"""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions
from google.api_core.retry import Retry
from google.cloud import firestore

from shared.adapters.firestore import version_of
from shared.domain import stored_order as fields
from shared.domain.addresses import document_path
from shared.domain.conflict import Change, Standing, Stored, Verdict, decide
from shared.domain.messages import OrderMessage

TRANSACTION_ATTEMPTS = 5


def _aborted(exc: BaseException) -> bool:
    if isinstance(exc, exceptions.Aborted | exceptions.Conflict):
        return True
    # The transactional wrapper reports an aborted commit as a ValueError caused by it.
    return isinstance(exc, ValueError) and any(
        isinstance(link, exceptions.Aborted | exceptions.Conflict)
        for link in (exc.__cause__, exc.__context__)
    )


def _document(message: OrderMessage) -> dict[str, Any]:
    return {
        fields.BODY: message.body,
        fields.CUSTOMER_ID: message.customer_id,
        fields.STATUS: message.status,
        fields.BODY_SHA256: message.body_sha256,
        fields.SOURCE_VERSION: message.source_version,
        fields.RECEIVED_AT: message.received_at,
        fields.CREATED_AT: message.received_at,
        fields.CORRELATION_ID: message.correlation_id,
        fields.MESSAGE_ID: message.message_id,
        fields.PROCESSED_AT: firestore.SERVER_TIMESTAMP,
    }


class TransactionalUpsert:
    """Only ``upsert_if_newer`` of :class:`~shared.ports.OrderStore`, transactionally."""

    def __init__(self, client: firestore.Client, *, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._retry = Retry(
            predicate=_aborted, initial=0.05, maximum=2.0, multiplier=2.0, timeout=30.0
        )

    def upsert_if_newer(self, message: OrderMessage) -> Verdict:
        ref = self._client.document(
            document_path(message.business_unit_id, message.customer_order_id)
        )
        result: Verdict = self._retry(self._transaction)(ref, message)
        return result

    def _transaction(self, ref: firestore.DocumentReference, message: OrderMessage) -> Verdict:
        @firestore.transactional
        def upsert(transaction: firestore.Transaction) -> Verdict:
            snapshot = ref.get(
                field_paths=fields.VERSION_FIELDS, transaction=transaction, timeout=self._timeout
            )
            stored = version_of(snapshot)
            verdict = decide(
                Change.UPDATE,
                message.version,
                None if stored is None else Stored(stored.version, Standing.OPEN),
            )
            if verdict.writes:
                transaction.set(ref, _document(message))
            return verdict

        result: Verdict = upsert(self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
        return result
