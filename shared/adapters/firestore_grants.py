"""Firestore adapter of :class:`shared.ports.GrantStore`: ``pos-grants/{identity}``.

One small document per identity (its business units, or all), so the pos function
reads exactly one document per identity it has not seen for a while, whatever the
number of stores. Each change is a transaction that also adds its record to
``pos-grant-changes``: the audit of who granted what, kept in the project.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.cloud import firestore

from shared.adapters.firestore import UNAVAILABLE_ERRORS, _call_retry, new_firestore_client
from shared.config import Settings
from shared.domain.grants import (
    GRANT_CHANGES_COLLECTION,
    GRANTS_COLLECTION,
    UPDATED_AT_FIELD,
    UPDATED_BY_FIELD,
    Grant,
    GrantChange,
)
from shared.errors import StoreUnavailable, one_line
from shared.ports import GrantStore


class FirestoreGrantStore(GrantStore):
    def __init__(self, client: firestore.Client, *, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._retry = _call_retry(timeout_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> FirestoreGrantStore:
        return cls(
            new_firestore_client(settings), timeout_seconds=settings.firestore_timeout_seconds
        )

    def _ref(self, identity: str) -> firestore.DocumentReference:
        return self._client.collection(GRANTS_COLLECTION).document(identity)

    def read(self, identity: str) -> Grant | None:
        try:
            snapshot = self._ref(identity).get(retry=self._retry, timeout=self._timeout)
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        if not snapshot.exists:
            return None
        return Grant.from_document(identity, snapshot.to_dict() or {})

    def change(
        self,
        identity: str,
        decide: Callable[[Grant | None], Grant | None],
        *,
        operator: str,
        command: str,
    ) -> GrantChange:
        reference = self._ref(identity)
        changes = self._client.collection(GRANT_CHANGES_COLLECTION)

        @firestore.transactional
        def apply(transaction: firestore.Transaction) -> GrantChange:
            snapshot = reference.get(transaction=transaction)
            before = (
                Grant.from_document(identity, snapshot.to_dict() or {}) if snapshot.exists else None
            )
            after = decide(before)
            change = GrantChange(identity, before, after, operator, command, datetime.now(UTC))
            if not change.changed:
                return change
            if after is None:
                transaction.delete(reference)
            else:
                transaction.set(
                    reference,
                    {
                        **after.to_document(),
                        UPDATED_AT_FIELD: change.changed_at,
                        UPDATED_BY_FIELD: operator,
                    },
                )
            record = change.to_json()
            record["changedAt"] = change.changed_at
            transaction.create(changes.document(), record)
            return change

        try:
            result: GrantChange = apply(self._client.transaction())
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        return result

    def list(self) -> list[Grant]:
        try:
            snapshots = self._client.collection(GRANTS_COLLECTION).stream(
                retry=self._retry, timeout=self._timeout
            )
            return [
                Grant.from_document(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots
            ]
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
