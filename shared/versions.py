"""Storing an OMS version of an order under the conflict rule, and announcing what it did.

Read the stored version, decide (:mod:`shared.domain.conflict`), write on the
condition that nothing changed since the read; after a lost race, all of it again
(:mod:`shared.optimistic`). Each attempt announces, through ``announce``, what the
decision calls for:

- a written version, after its write;
- a duplicate, the same version again: the stored version once more, since this is
  the redelivery after a crash between the write and the announcement, which is how
  no stored version stays without its event;
- a cancellation refused because the order is picked up: the refusal event, with the
  stored order, for the OMS.

A version that replaces a pickup announces the pickup first: the pickup's own
message may still be behind this one in the topic, and once overwritten the pickup
version could no longer be announced. Announcing twice is harmless (same event id);
announcing never is what this order of steps rules out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.domain.addresses import ordering_key
from shared.domain.conflict import Decision, Statuses, Verdict, Version, decide
from shared.domain.events import OrderEvent, order_event, refusal_event
from shared.domain.messages import OrderMessage
from shared.domain.search_fields import SearchFields, search_fields_of_body
from shared.domain.stored_order import OrderRecord
from shared.optimistic import OptimisticWriter
from shared.ports import OrderStore

Announce = Callable[[OrderEvent], None]


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    # What the last attempt announced, in order.
    announced: list[OrderEvent] = field(default_factory=list)


def apply_version(
    message: OrderMessage,
    store: OrderStore,
    writes: OptimisticWriter,
    *,
    statuses: Statuses,
    announce: Announce,
    search_fields: SearchFields | None = None,
) -> Applied:
    """Store ``message``'s version if the rule says so, and announce what it calls for.

    ``search_fields`` are those of the message's body, when the caller has them already.
    """
    business_unit_id, customer_order_id = message.business_unit_id, message.customer_order_id
    change = statuses.change_of(message.status)
    # Once, not on every attempt: a body may be a megabyte of JSON.
    if search_fields is None:
        search_fields = search_fields_of_body(message.body)

    def attempt() -> Applied:
        announced: list[OrderEvent] = []

        def tell(event: OrderEvent) -> None:
            announce(event)
            announced.append(event)

        stored = store.read_version(business_unit_id, customer_order_id)
        verdict = decide(
            change, message.version, None if stored is None else stored.standing(statuses)
        )
        if verdict.writes:
            if stored is not None and stored.is_pickup_version:
                _announce_stored(store, message, stored.version, tell)
            record = OrderRecord.of_message(message, stored, search_fields)
            store.write(record, replacing=None if stored is None else stored.revision)
            tell(order_event(record))
        elif verdict.decision is Decision.SKIP_DUPLICATE:
            current = store.get(business_unit_id, customer_order_id)
            # Unless someone stored a newer version meanwhile, whose writer announces it,
            # this is the version to announce again.
            if (
                current is not None
                and current.version == message.version
                and current.body_sha256 == message.body_sha256
            ):
                tell(order_event(current))
        elif verdict.decision is Decision.REFUSE_CANCELLATION:
            current = store.get(business_unit_id, customer_order_id)
            if current is not None:
                tell(refusal_event(current, message.version, message.correlation_id))
        return Applied(verdict, announced)

    return writes.run(ordering_key(business_unit_id, customer_order_id), attempt)


def _announce_stored(
    store: OrderStore, message: OrderMessage, version: Version, tell: Announce
) -> None:
    current = store.get(message.business_unit_id, message.customer_order_id)
    if current is not None and current.version == version:
        tell(order_event(current))
