"""Storing an OMS version of an order under the conflict rule, with what to announce of it.

Read the stored version, decide (:mod:`shared.domain.conflict`), write on the
condition that nothing changed since the read; after a lost race, all of it again
(:mod:`shared.optimistic`). What was written is announced by the caller as an
event. A duplicate, the same version again, announces the stored version again:
a redelivery after a crash between the write and the announcement, which is how
no stored version stays without its event.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.addresses import ordering_key
from shared.domain.conflict import Decision, Verdict, decide
from shared.domain.messages import OrderMessage
from shared.domain.stored_order import OrderRecord
from shared.optimistic import OptimisticWriter
from shared.ports import OrderStore


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    # The version to announce: the one written, or the stored one a duplicate repeats.
    announce: OrderRecord | None


def apply_version(message: OrderMessage, store: OrderStore, writes: OptimisticWriter) -> Applied:
    """Store ``message``'s version unless the stored one is as great or greater."""
    business_unit_id, customer_order_id = message.business_unit_id, message.customer_order_id

    def attempt() -> Applied:
        stored = store.read_version(business_unit_id, customer_order_id)
        verdict = decide(message.version, None if stored is None else stored.version)
        if verdict.writes:
            record = OrderRecord.of_message(message, stored)
            store.write(record, replacing=None if stored is None else stored.revision)
            return Applied(verdict, record)
        if verdict.decision is Decision.SKIP_DUPLICATE:
            current = store.get(business_unit_id, customer_order_id)
            # Read again for the body: unless someone stored a newer version meanwhile,
            # whose writer announces it, this is the version to announce again.
            if (
                current is not None
                and current.version == message.version
                and current.body_sha256 == message.body_sha256
            ):
                return Applied(verdict, current)
        return Applied(verdict, None)

    return writes.run(ordering_key(business_unit_id, customer_order_id), attempt)
