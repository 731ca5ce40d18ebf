"""Firestore adapter of :class:`shared.ports.OrderStore`.

One document per order at ``business-units/{BU}/customer-orders/{ID}``, with the
fields :mod:`shared.domain.stored_order` defines: the body as bytes, its
projections, the version's metadata and the store's record; and one document per
store update under it. A write is conditional on the revision (update time) a read
saw, or on the document not existing yet, and writes only the fields it names (an
update mask): a field it does not name, known to this release or not, is kept.

The write is a commit of a Write built directly through the library's GAPIC client,
which skips the high-level client's conversion of a dict of Python values: with it,
a new order costs 1.1 ms of client CPU on the emulator, against 3.1 ms through
get() and create() and 2.6 ms in a transaction
(docs/performance.md#why-the-code-is-as-it-is). The version read stays the high-level
get (BatchGetDocuments): the unary GetDocument is no cheaper and the emulator answers
it more slowly.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions
from google.api_core.retry import Retry, if_transient_error
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import (
    CommitRequest,
    DocumentTransform,
    Write,
)

from shared.config import Settings
from shared.domain import stored_order as fields
from shared.domain.addresses import CUSTOMER_ORDERS, collection_path, document_path
from shared.domain.conflict import Version
from shared.domain.search import Operator, SearchCriteria, SearchPosition
from shared.domain.search_fields import SearchFields, search_fields_of_body
from shared.domain.store_state import EMPTY_STORE_STATE, StoreState, legacy_pickup_state
from shared.domain.store_updates import RecordedUpdate, UpdateKind
from shared.domain.stored_order import (
    STORE_UPDATES,
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
    content_of_body,
    fulfillment_states,
    legacy_last_store_update,
)
from shared.errors import LostRace, StoreRefused, StoreUnavailable, one_line
from shared.ports import OrderStore

# Firestore did not answer (in time): worth a redelivery or a 503, never a 500.
UNAVAILABLE_ERRORS = (
    exceptions.RetryError,
    exceptions.ServiceUnavailable,
    exceptions.DeadlineExceeded,
)
DOCUMENT_ID = FieldPath.document_id()
DESCENDING = firestore.Query.DESCENDING
SEARCH_FIELDS = (fields.CUSTOMER_ACCOUNT_ID, fields.ITEM_IDS, fields.ADDITIONAL_INFORMATION_VALUES)
# What orders-reindex writes where missing: itemIds stands for the three search fields
# (always written together, an empty array included), then the fulfillment states.
BACKFILLED_FIELDS = (fields.ITEM_IDS, fields.FULFILLMENT_STATES)
_OPERATORS: dict[Operator, str] = {
    "==": "==",
    "in": "in",
    "array-contains": "array_contains",
    "array-contains-any": "array_contains_any",
}
# processedAt is the commit time, set by Firestore.
_COMMIT_TIME = DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME
# Firestore refused the write itself (a document over its limits): no retry can store it.
REFUSED_ERRORS = (exceptions.InvalidArgument,)
# The precondition failed: someone wrote the document since it was read.
LOST_RACE_ERRORS = (exceptions.Conflict, exceptions.FailedPrecondition)


def index_building(exc: exceptions.FailedPrecondition) -> bool:
    """Whether a query failed for an index that exists and is still being built.

    Firestore says "The query requires an index. That index is currently building and
    cannot be used yet", where a missing one gets "You can create it here".
    """
    return "currently building" in str(exc.message)


def lost_race(exc: BaseException) -> bool:
    return isinstance(exc, LOST_RACE_ERRORS)


def _call_retry(deadline_seconds: float) -> Retry:
    # Without it a call retries an unreachable Firestore until the library's own
    # deadline (300 s for a document read), whatever its timeout, which only bounds
    # each attempt; the ingest GET would hang instead of answering 503. A write is
    # retried by it too: the precondition makes a commit that did land the first
    # time fail the second (a lost race), and the next read finds the version stored.
    return Retry(
        predicate=if_transient_error,
        initial=0.1,
        maximum=1.0,
        multiplier=2.0,
        timeout=deadline_seconds,
    )


def new_firestore_client(settings: Settings) -> firestore.Client:
    return firestore.Client(project=settings.project_id, database=settings.firestore_database)


@dataclass
class Backfilled:
    """What :meth:`FirestoreOrderStore.backfill_search_fields` did in one business unit."""

    read: int = 0
    written: int = 0
    # Already had them: written by this release, or by a backfill before.
    current: int = 0
    # Got a new version while the backfill read it: its writer stored the fields.
    raced: int = 0


class FirestoreOrderStore(OrderStore):
    def __init__(self, client: firestore.Client, *, timeout_seconds: float) -> None:
        self._client = client
        # The GAPIC client the library builds for its own calls (emulator included).
        self._api = client._firestore_api
        self._database = client._database_string
        self._documents = f"{self._database}/documents"
        self._timeout = timeout_seconds
        self._retry = _call_retry(timeout_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> FirestoreOrderStore:
        return cls(
            new_firestore_client(settings), timeout_seconds=settings.firestore_timeout_seconds
        )

    def _ref(self, business_unit_id: str, customer_order_id: str) -> firestore.DocumentReference:
        return self._client.document(document_path(business_unit_id, customer_order_id))

    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        try:
            snapshot = self._ref(business_unit_id, customer_order_id).get(
                field_paths=fields.VERSION_FIELDS, retry=self._retry, timeout=self._timeout
            )
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        return version_of(snapshot)

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        try:
            snapshot = self._ref(business_unit_id, customer_order_id).get(
                retry=self._retry, timeout=self._timeout
            )
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        return order_of(snapshot, business_unit_id, customer_order_id)

    def read_for_update(
        self, business_unit_id: str, customer_order_id: str, update_id: str
    ) -> tuple[StoredOrder | None, RecordedUpdate | None]:
        order_ref = self._ref(business_unit_id, customer_order_id)
        update_ref = order_ref.collection(fields.STORE_UPDATES).document(update_id)
        try:
            # One BatchGetDocuments for both.
            snapshots = {
                snapshot.reference.path: snapshot
                for snapshot in self._client.get_all(
                    [order_ref, update_ref], retry=self._retry, timeout=self._timeout
                )
            }
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        order = order_of(snapshots[order_ref.path], business_unit_id, customer_order_id)
        update_snapshot = snapshots[update_ref.path]
        if not update_snapshot.exists:
            return order, None
        recorded = update_snapshot.to_dict() or {}
        return order, RecordedUpdate(
            update_id=update_id,
            digest=recorded[fields.UPDATE_DIGEST],
            kind=UpdateKind(recorded[fields.UPDATE_KIND]),
            recorded_at=_utc(recorded[fields.UPDATE_RECORDED_AT]),
            correlation_id=recorded.get(fields.UPDATE_CORRELATION_ID, ""),
            caller=recorded.get(fields.UPDATE_CALLER, ""),
        )

    def write(
        self,
        record: OrderRecord,
        *,
        replacing: Revision | None,
        fields: Sequence[str],
        update: RecordedUpdate | None = None,
    ) -> None:
        path = document_path(record.business_unit_id, record.customer_order_id)
        name = f"{self._documents}/{path}"
        writes = [write_of(name, record, fields)]
        if update is not None:
            writes.append(update_write_of(f"{name}/{STORE_UPDATES}/{update.update_id}", update))
        self._commit(writes, replacing)

    def _commit(self, writes: Sequence[Any], replacing: Revision | None) -> None:
        """Commit ``writes`` (all or none) if the first one's document does not exist
        (``replacing=None``) or is at ``replacing``."""
        condition = writes[0].current_document
        if replacing is None:
            condition.exists = False
        else:
            condition.update_time.CopyFrom(replacing.token.timestamp_pb())  # type: ignore[attr-defined]
        commit = CommitRequest.pb()(database=self._database, writes=writes)
        try:
            self._api.commit(
                request=CommitRequest.wrap(commit), retry=self._retry, timeout=self._timeout
            )
        except LOST_RACE_ERRORS as exc:
            raise LostRace(one_line(exc)) from exc
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        except REFUSED_ERRORS as exc:
            raise StoreRefused(one_line(exc)) from exc

    def backfill_search_fields(
        self, business_unit_id: str, *, dry_run: bool, page_size: int = 300
    ) -> Backfilled:
        """Write the search fields into each document of the business unit that lacks them.

        The body's (customerAccountId, itemIds, additionalInformationValues) where a
        release before the search fields wrote the document, and fulfillmentStates where
        a release before fulfillments did (found by fulfillment status then: an order it
        picked up reads as fulfilled at its business unit). Only those fields, each write
        conditional on the update time the page read, so a version or store update stored
        meanwhile (which has its own fields) is never overwritten.
        """
        collection = self._client.collection(collection_path(business_unit_id))
        done = Backfilled()
        after: firestore.DocumentSnapshot[Any] | None = None
        while True:
            query = collection.order_by(DOCUMENT_ID).limit(page_size)
            if after is not None:
                query = query.start_after(after)
            try:
                page = list(query.stream(retry=self._retry, timeout=self._timeout))
            except UNAVAILABLE_ERRORS as exc:
                raise StoreUnavailable(one_line(exc)) from exc
            for snapshot in page:
                done.read += 1
                stored = snapshot.to_dict() or {}
                missing = [field for field in BACKFILLED_FIELDS if field not in stored]
                if not missing:
                    done.current += 1
                    continue
                if not dry_run:
                    order = order_of(snapshot, business_unit_id, snapshot.id)
                    assert order is not None
                    write = Write.pb()()
                    write.update.name = f"{self._documents}/{snapshot.reference.path}"
                    if fields.ITEM_IDS in missing:
                        put_search_fields(write.update.fields, order.search_fields)
                        write.update_mask.field_paths.extend(SEARCH_FIELDS)
                    if fields.FULFILLMENT_STATES in missing:
                        put_fulfillment_states(write.update.fields, order.fulfillment_states)
                        write.update_mask.field_paths.append(fields.FULFILLMENT_STATES)
                    try:
                        self._commit([write], Revision(snapshot.update_time))
                    except LostRace:
                        done.raced += 1
                        continue
                done.written += 1
            if len(page) < page_size:
                return done
            after = page[-1]

    def search(
        self,
        business_unit_id: str,
        criteria: SearchCriteria,
        *,
        limit: int,
        after: SearchPosition | None,
    ) -> list[OrderSummary]:
        # Every business unit's orders (a collection-group query, served by an index of
        # that scope: docs/design.md#searching-by-fulfillment-status), or the one's.
        source: Any = (
            self._client.collection_group(CUSTOMER_ORDERS)
            if criteria.across_business_units
            else self._client.collection(collection_path(business_unit_id))
        )
        query = source.select(fields.SUMMARY_FIELDS)
        for condition in criteria.conditions():
            value = condition.value
            given = list(value) if isinstance(value, tuple) else value
            operator = _OPERATORS[condition.operator]
            query = query.where(filter=FieldFilter(condition.field, operator, given))
        # The range is a slice of the order the indexes keep (newest first), not a filter:
        # an equality query with one order is what Firestore serves by merging indexes.
        query = query.order_by(fields.RECEIVED_AT, direction=DESCENDING).order_by(
            DOCUMENT_ID, direction=DESCENDING
        )
        if after is not None:
            last = self._ref(after.business_unit_id or business_unit_id, after.customer_order_id)
            query = query.start_after([after.received_at, last])
        elif criteria.received_before is not None:
            query = query.start_after([criteria.received_before])
        if criteria.received_from is not None:
            query = query.end_at([criteria.received_from])
        try:
            snapshots = list(query.limit(limit).stream(retry=self._retry, timeout=self._timeout))
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(one_line(exc)) from exc
        except exceptions.FailedPrecondition as exc:
            if index_building(exc):
                raise StoreUnavailable(one_line(exc)) from exc
            # An index Terraform does not create: this service's defect, a 500, logged.
            raise
        summaries = []
        for snapshot in snapshots:
            stored = snapshot.to_dict() or {}
            summaries.append(
                OrderSummary(
                    # business-units/{BU}/customer-orders/{ID}
                    business_unit_id=snapshot.reference.parent.parent.id,
                    customer_order_id=snapshot.id,
                    customer_id=stored[fields.CUSTOMER_ID],
                    status=stored[fields.STATUS],
                    received_at=_utc(stored[fields.RECEIVED_AT]),
                    picked_up_at=_optional_utc(stored.get(fields.PICKED_UP_AT)),
                )
            )
        return summaries


def write_of(name: str, record: OrderRecord, written: Sequence[str] = fields.FIELDS) -> Any:
    """The raw Write of the ``written`` fields of ``record``, under their update mask.

    A field in the mask without a value (an order without an account) is removed; a
    stored field outside the mask, this release's or a later one's, is kept.
    """
    write = Write.pb()()
    document = write.update
    document.name = name
    values = document.fields
    if fields.BODY in written:
        values[fields.BODY].bytes_value = record.body
        values[fields.CUSTOMER_ID].string_value = record.customer_id
        values[fields.STATUS].string_value = record.status
        put_search_fields(values, record.search_fields)
        values[fields.BODY_SHA256].string_value = record.body_sha256
        if record.source_version is None:
            values[fields.SOURCE_VERSION].null_value = 0
        else:
            values[fields.SOURCE_VERSION].integer_value = record.source_version
        values[fields.RECEIVED_AT].timestamp_value.FromDatetime(record.received_at)
        if record.created_at is None:
            values[fields.CREATED_AT].null_value = 0
        else:
            values[fields.CREATED_AT].timestamp_value.FromDatetime(record.created_at)
        values[fields.CORRELATION_ID].string_value = record.correlation_id
        values[fields.MESSAGE_ID].string_value = record.message_id
    if not record.store_state.is_empty:
        values[fields.STORE_STATE].bytes_value = record.store_state.encode()
    picked_up_at = record.picked_up_at
    if picked_up_at is None:
        values[fields.PICKED_UP_AT].null_value = 0
    else:
        values[fields.PICKED_UP_AT].timestamp_value.FromDatetime(picked_up_at)
    put_fulfillment_states(values, record.fulfillment_states)
    if record.last_store_update is None:
        values[fields.LAST_STORE_UPDATE].null_value = 0
    else:
        values[fields.LAST_STORE_UPDATE].string_value = record.last_store_update
    unknown = set(written) - set(fields.FIELDS)
    if unknown:
        raise ValueError(f"no such stored fields: {sorted(unknown)}")
    # processedAt is set by the transform, after the mask is applied.
    write.update_mask.field_paths.extend(field for field in written if field != fields.PROCESSED_AT)
    transform = write.update_transforms.add()
    transform.field_path = fields.PROCESSED_AT
    transform.set_to_server_value = _COMMIT_TIME
    return write


def update_write_of(name: str, update: RecordedUpdate) -> Any:
    """The raw Write creating a store update's document (it must not exist yet)."""
    write = Write.pb()()
    write.update.name = name
    values = write.update.fields
    values[fields.UPDATE_DIGEST].string_value = update.digest
    values[fields.UPDATE_KIND].string_value = update.kind.value
    values[fields.UPDATE_RECORDED_AT].timestamp_value.FromDatetime(update.recorded_at)
    values[fields.UPDATE_CORRELATION_ID].string_value = update.correlation_id
    values[fields.UPDATE_CALLER].string_value = update.caller
    write.current_document.exists = False
    return write


def put_search_fields(values: Any, search: SearchFields) -> None:
    """Set the search fields in the raw field map of a Write's document."""
    # Absent rather than null: a document without an account is in no account index.
    if search.customer_account_id is not None:
        values[fields.CUSTOMER_ACCOUNT_ID].string_value = search.customer_account_id
    for field, strings in (
        (fields.ITEM_IDS, search.item_ids),
        (fields.ADDITIONAL_INFORMATION_VALUES, search.additional_information_values),
    ):
        array = values[field].array_value
        # An empty array is still an array, which tells this release's documents apart.
        array.SetInParent()
        for string in strings:
            array.values.add().string_value = string


def put_fulfillment_states(values: Any, states: Sequence[str]) -> None:
    """Set ``fulfillmentStates`` in the raw field map of a Write's document."""
    array = values[fields.FULFILLMENT_STATES].array_value
    # An empty array is still an array: the document is of a release that knows the field.
    array.SetInParent()
    for state in states:
        array.values.add().string_value = state


def version_of(snapshot: firestore.DocumentSnapshot[Any]) -> StoredVersion | None:
    """The stored version a snapshot of the version fields holds; ``None`` for no document."""
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    received_at = _utc(stored[fields.RECEIVED_AT])
    picked_up_at = _optional_utc(stored.get(fields.PICKED_UP_AT))
    encoded = stored.get(fields.STORE_STATE)
    if encoded is not None:
        store_state: StoreState | None = StoreState.decode(encoded)
    else:
        # Picked up by the release before fulfillments: its record needs its body.
        store_state = None if picked_up_at is not None else EMPTY_STORE_STATE
    return StoredVersion(
        version=Version(received_at, stored.get(fields.SOURCE_VERSION)),
        created_at=_optional_utc(stored.get(fields.CREATED_AT)),
        revision=Revision(snapshot.update_time),
        # Absent from documents written before pickups existed.
        status=stored.get(fields.STATUS, ""),
        store_state=store_state,
        last_store_update=_last_store_update(stored, received_at, picked_up_at),
    )


def order_of(
    snapshot: firestore.DocumentSnapshot[Any], business_unit_id: str, customer_order_id: str
) -> StoredOrder | None:
    """The whole stored order a snapshot holds; ``None`` for no document."""
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    body = stored[fields.BODY]
    received_at = _utc(stored[fields.RECEIVED_AT])
    picked_up_at = _optional_utc(stored.get(fields.PICKED_UP_AT))
    # A document of a release before the store's record lacks it and its search field:
    # its body gives both, parsed once for the two.
    content = functools.cache(lambda: content_of_body(body, business_unit_id))
    encoded = stored.get(fields.STORE_STATE)
    if encoded is not None:
        store_state = StoreState.decode(encoded)
    elif picked_up_at is None:
        store_state = EMPTY_STORE_STATE
    else:
        # Picked up by the release before fulfillments: all of it, at once.
        store_state = legacy_pickup_state(content().fulfillments, picked_up_at)
    states = stored.get(fields.FULFILLMENT_STATES)
    return StoredOrder(
        business_unit_id=business_unit_id,
        customer_order_id=customer_order_id,
        body=body,
        customer_id=stored[fields.CUSTOMER_ID],
        status=stored[fields.STATUS],
        body_sha256=stored[fields.BODY_SHA256],
        source_version=stored.get(fields.SOURCE_VERSION),
        received_at=received_at,
        correlation_id=stored.get(fields.CORRELATION_ID, ""),
        message_id=stored.get(fields.MESSAGE_ID, ""),
        created_at=_optional_utc(stored.get(fields.CREATED_AT)),
        search_fields=_search_fields(stored),
        store_state=store_state,
        fulfillment_states=tuple(states)
        if states is not None
        else fulfillment_states(content().fulfillments, store_state),
        last_store_update=_last_store_update(stored, received_at, picked_up_at),
        processed_at=_optional_utc(stored.get(fields.PROCESSED_AT)),
        revision=Revision(snapshot.update_time),
    )


def _last_store_update(
    stored: dict[str, Any], received_at: datetime, picked_up_at: datetime | None
) -> str | None:
    if fields.LAST_STORE_UPDATE in stored:
        value = stored[fields.LAST_STORE_UPDATE]
        return value if isinstance(value, str) else None
    return legacy_last_store_update(received_at, picked_up_at)


def _search_fields(stored: dict[str, Any]) -> SearchFields:
    if fields.ITEM_IDS not in stored:
        # Written by a release before the search fields: its body gives them.
        return search_fields_of_body(stored[fields.BODY])
    return SearchFields(
        customer_account_id=stored.get(fields.CUSTOMER_ACCOUNT_ID),
        item_ids=tuple(stored[fields.ITEM_IDS]),
        additional_information_values=tuple(stored.get(fields.ADDITIONAL_INFORMATION_VALUES, ())),
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _optional_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)
