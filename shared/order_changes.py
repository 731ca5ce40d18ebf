"""The one way a change is applied to an order: read, decide by the table, write, announce.

Every writer goes through :meth:`OrderChanges.apply`: the processor storing an OMS
version, the pos function recording a store update, and the processor completing
a store update the pos function published (or a pickup of the release before
fulfillments). Each attempt

1. reads what the change needs of the stored order;
2. decides by the conflict rule's table (:mod:`shared.domain.conflict`);
3. when the decision writes: builds the order's new state, announces a state it
   replaces whose event may not be out yet, runs ``before_write`` (the pos
   function publishes its update's message there), and writes on the condition
   that the document did not change since the read;
4. announces what it stored, or what a repeat calls for: a duplicate's own event
   again (the redelivery after a crash between the write and the announcement), a
   refusal's event (an OMS version that would cancel what was handed out).

A write that loses the race runs the attempt again (:mod:`shared.optimistic`). What
a change reads, decides and writes is its strategy (:class:`OmsVersion`,
:class:`StoreUpdateChange`). Announcing twice is harmless (same event id);
announcing never is what this order of steps rules out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.domain import stored_order as fields
from shared.domain.addresses import ordering_key
from shared.domain.conflict import (
    Change,
    Decision,
    Relation,
    Standing,
    Statuses,
    Verdict,
    decide,
    decide_update,
)
from shared.domain.events import (
    OrderEvent,
    order_event,
    refusal_event,
    state_event,
    store_update_event,
)
from shared.domain.fulfillments import ZERO, Fulfillment
from shared.domain.messages import OrderMessage
from shared.domain.store_state import UpdateRef
from shared.domain.store_updates import (
    Assessment,
    Basis,
    RecordedUpdate,
    StoreUpdate,
    UpdateKind,
    apply_update,
    assess,
)
from shared.domain.stored_order import (
    OrderContent,
    OrderRecord,
    Revision,
    StoredOrder,
    StoredVersion,
    content_of_body,
)
from shared.optimistic import OptimisticWriter
from shared.ports import OrderStore

Announce = Callable[[OrderEvent], None]


@dataclass(frozen=True, slots=True)
class Decided:
    verdict: Verdict
    # A store update's fit against the order, for the answer.
    assessment: Assessment | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    # The order as now stored; None when there is none.
    order: OrderRecord | None
    assessment: Assessment | None = None
    # What the last attempt announced, in order.
    announced: list[OrderEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Write:
    """What a deciding attempt writes: the order's new state, which of its fields, and the
    store update it records."""

    record: OrderRecord
    fields: tuple[str, ...]
    update: RecordedUpdate | None = None
    # The state it replaces, which the change was decided on.
    decided_on: Basis | None = None


class Strategy(Protocol):
    """What one kind of change reads, decides and writes."""

    business_unit_id: str
    customer_order_id: str

    def read(self, store: OrderStore) -> None:
        """Read what the change needs of the stored order (kept for the steps below)."""

    @property
    def revision(self) -> Revision | None:
        """The revision the read saw; None for no document."""

    @property
    def current(self) -> OrderRecord | None:
        """The order as read, when the read took all of it."""

    def decide(self, statuses: Statuses) -> Decided: ...

    def write_of(self, decided: Decided) -> Write: ...

    def replaced_events(self, store: OrderStore) -> list[OrderEvent]:
        """The events of the state the write replaces, if it may not be announced yet."""

    def events(self, write: Write) -> list[OrderEvent]:
        """The events of what was written."""

    def repeat_events(self, decided: Decided, store: OrderStore) -> list[OrderEvent]:
        """What a decision that writes nothing announces."""


class OrderChanges:
    """Applies changes to orders, one at a time per order within an instance."""

    def __init__(
        self,
        store: OrderStore,
        *,
        statuses: Statuses,
        writes: OptimisticWriter | None = None,
        announce: Announce | None = None,
    ) -> None:
        self._store = store
        self._statuses = statuses
        self._writes = writes or OptimisticWriter()
        # None for a writer that cannot publish events (the pos function): its update's
        # message announces it.
        self._announce = announce

    def apply(
        self, change: Strategy, *, before_write: Callable[[Write], None] | None = None
    ) -> Applied:
        def attempt() -> Applied:
            announced: list[OrderEvent] = []

            def tell(events: Sequence[OrderEvent]) -> None:
                for event in events:
                    assert self._announce is not None
                    self._announce(event)
                    announced.append(event)

            change.read(self._store)
            decided = change.decide(self._statuses)
            if not decided.verdict.writes:
                if self._announce is not None:
                    tell(change.repeat_events(decided, self._store))
                return Applied(decided.verdict, change.current, decided.assessment, announced)
            write = change.write_of(decided)
            if self._announce is not None:
                tell(change.replaced_events(self._store))
            if before_write is not None:
                before_write(write)
            self._store.write(
                write.record, replacing=change.revision, fields=write.fields, update=write.update
            )
            if self._announce is not None:
                tell(change.events(write))
            return Applied(decided.verdict, write.record, decided.assessment, announced)

        key = ordering_key(change.business_unit_id, change.customer_order_id)
        return self._writes.run(key, attempt)


class OmsVersion:
    """An OMS version of the order (a message of the orders topic) under the version rule."""

    def __init__(self, message: OrderMessage, content: OrderContent | None = None) -> None:
        self.business_unit_id = message.business_unit_id
        self.customer_order_id = message.customer_order_id
        self._message = message
        # Once, not on every attempt: a body may be a megabyte of JSON.
        self._content = content or content_of_body(message.body, message.business_unit_id)
        self._stored: StoredVersion | OrderRecord | None = None
        self._revision: Revision | None = None
        self._full: StoredOrder | None = None
        # What the version does to the order, once decided.
        self.change = Change.UPDATE

    def read(self, store: OrderStore) -> None:
        self._full = None
        stored = store.read_version(self.business_unit_id, self.customer_order_id)
        self._stored, self._revision = stored, None if stored is None else stored.revision
        if stored is not None and stored.store_state is None:
            # Picked up by the release before fulfillments: its record is made of its body.
            self._full = store.get(self.business_unit_id, self.customer_order_id)
            self._stored = self._full
            self._revision = None if self._full is None else self._full.revision

    @property
    def revision(self) -> Revision | None:
        return self._revision

    @property
    def current(self) -> OrderRecord | None:
        return self._full

    def decide(self, statuses: Statuses) -> Decided:
        message, stored = self._message, self._stored
        if stored is None:
            self.change = (
                Change.CANCELLATION if statuses.is_cancellation(message.status) else Change.UPDATE
            )
            return Decided(decide(self.change, message.version, None))
        standing = stored.standing(statuses)
        if statuses.is_cancellation(message.status):
            self.change = Change.CANCELLATION
        elif standing.standing is Standing.PICKED_UP and self._unpicks(stored):
            self.change = Change.UNPICKING
        else:
            self.change = Change.UPDATE
        return Decided(decide(self.change, message.version, standing))

    def _unpicks(self, stored: StoredVersion | OrderRecord) -> bool:
        """Whether this version drops, or orders less of, a fulfillment item handed out."""
        state = stored.store_state
        if state is None:
            return False
        sent = {
            fulfillment.fulfillment_id: fulfillment for fulfillment in self._content.fulfillments
        }
        for fulfillment_id, recorded in state.fulfillments.items():
            for item_id, item in recorded.items.items():
                if item.picked_up <= ZERO:
                    continue
                kept = sent.get(fulfillment_id)
                if kept is None or kept.quantity(item_id) < item.picked_up:
                    return True
        return False

    def write_of(self, decided: Decided) -> Write:
        record = OrderRecord.of_message(self._message, self._stored, self._content)
        return Write(record, fields.FIELDS)

    def replaced_events(self, store: OrderStore) -> list[OrderEvent]:
        stored = self._stored
        if stored is None or stored.last_store_update is None:
            return []
        # A store update's state, about to be replaced: its own message may still be behind
        # this one, and once overwritten its state could not be announced as it was.
        current = self._full or store.get(self.business_unit_id, self.customer_order_id)
        if current is None or current.revision != self._revision:
            return []
        return [state_event(current)]

    def events(self, write: Write) -> list[OrderEvent]:
        return [order_event(write.record, self._content.fulfillments)]

    def repeat_events(self, decided: Decided, store: OrderStore) -> list[OrderEvent]:
        message = self._message
        if decided.verdict.decision is Decision.SKIP_DUPLICATE:
            current = store.get(self.business_unit_id, self.customer_order_id)
            # Unless someone stored a newer version meanwhile, whose writer announces it,
            # this is the version to announce again.
            if (
                current is not None
                and current.version == message.version
                and current.body_sha256 == message.body_sha256
            ):
                return [order_event(current)]
        elif decided.verdict.decision is Decision.REFUSE_CANCELLATION:
            current = store.get(self.business_unit_id, self.customer_order_id)
            if current is not None:
                return [refusal_event(current, message.version, message.correlation_id)]
        return []


class StoreUpdateChange:
    """A store's update of the order: decided and written by the pos function, or completed
    by the processor from the update's message on the state it was decided on (``basis``)."""

    def __init__(
        self,
        business_unit_id: str,
        customer_order_id: str,
        update: StoreUpdate,
        *,
        recorded_at: datetime,
        correlation_id: str,
        caller: str,
        holds: Callable[[str], bool],
        basis: Basis | None = None,
    ) -> None:
        self.business_unit_id = business_unit_id
        self.customer_order_id = customer_order_id
        self.update = update
        self._recorded_at = recorded_at
        self._correlation_id = correlation_id
        self._caller = caller
        self._holds = holds
        self._basis = basis
        self._order: StoredOrder | None = None
        self._recorded: RecordedUpdate | None = None
        self._fulfillments: tuple[Fulfillment, ...] = ()

    def read(self, store: OrderStore) -> None:
        self._order, self._recorded = store.read_for_update(
            self.business_unit_id, self.customer_order_id, self.update.update_id
        )
        self._fulfillments = () if self._order is None else self._order.fulfillments()

    @property
    def revision(self) -> Revision | None:
        return None if self._order is None else self._order.revision

    @property
    def current(self) -> OrderRecord | None:
        return self._order

    @property
    def change(self) -> Change:
        return Change.READY if self.update.kind is UpdateKind.READY else Change.PICKUP

    @property
    def fulfillments(self) -> tuple[Fulfillment, ...]:
        """The fulfillments of the order as the last attempt read it."""
        return self._fulfillments

    def decide(self, statuses: Statuses) -> Decided:
        order = self._order
        if order is None:
            return Decided(decide_update(self.change, Standing.ABSENT, Relation.FITS))
        assessment = assess(
            self.update,
            self._fulfillments,
            order.store_state,
            self._recorded,
            holds=self._holds,
            basis=self._basis,
            current=order.basis,
        )
        standing = order.standing(statuses).standing
        return Decided(decide_update(self.change, standing, assessment.relation), assessment)

    def write_of(self, decided: Decided) -> Write:
        order, assessment = self._order, decided.assessment
        if order is None or assessment is None:
            raise ValueError("a store update writes only to an order it assessed")
        state = apply_update(
            self.update,
            assessment,
            order.store_state,
            recorded_at=self._recorded_at,
            correlation_id=self._correlation_id,
        )
        record = order.with_store_state(state, self._fulfillments, self.update.update_id)
        update = RecordedUpdate(
            self.update.update_id,
            self.update.digest,
            self.update.kind,
            self._recorded_at,
            self._correlation_id,
            self._caller,
        )
        return Write(record, fields.STORE_UPDATE_FIELDS, update, order.basis)

    def replaced_events(self, store: OrderStore) -> list[OrderEvent]:
        # A store update the processor completes follows the updates before it on its
        # ordering key, which were announced first; an OMS version's writer announced it.
        return []

    def events(self, write: Write) -> list[OrderEvent]:
        return [store_update_event(write.record, fulfillments=self._fulfillments)]

    def repeat_events(self, decided: Decided, store: OrderStore) -> list[OrderEvent]:
        order, recorded = self._order, self._recorded
        if decided.verdict.decision is not Decision.SKIP_DUPLICATE or order is None:
            return []
        if recorded is None:
            # A pickup of the release before fulfillments, recorded by that release.
            return [state_event(order)] if order.last_store_update is not None else []
        # Most often the pos function's own write, whose message this is: its event, with
        # the order as stored now.
        update = UpdateRef(
            recorded.update_id, recorded.kind.value, recorded.recorded_at, recorded.correlation_id
        )
        return [store_update_event(order, update, self._fulfillments)]
