"""The pickup of the release before fulfillments, kept as the baseline of ``make bench`` row 7.

What that release's pos function did for a pickup, through today's clients: read the
whole order, parse its body and encode it again with the picked-up status and
``customerOrder.pickedUpAt``, publish a pickup message, and write every field of the
order again on the condition that nothing changed. Not the service's code any more:
the store update that replaced it (shared/order_changes.py) is measured against it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from shared.adapters.firestore import FirestoreOrderStore
from shared.adapters.pubsub import TopicPublisher
from shared.domain import stored_order as fields
from shared.domain.addresses import ordering_key
from shared.domain.jsonbody import dump_json, parse_json
from shared.domain.messages import sha256_hex
from shared.domain.timestamps import format_timestamp


class WholeOrderPickup:
    def __init__(self, store: FirestoreOrderStore, topic: TopicPublisher) -> None:
        self._store = store
        self._topic = topic

    def pickup(self, business_unit_id: str, customer_order_id: str, at: datetime) -> bytes:
        """The picked-up order's body, as that release answered it."""
        stored = self._store.get(business_unit_id, customer_order_id)
        if stored is None or stored.revision is None:
            raise LookupError(customer_order_id)
        document = parse_json(stored.body)
        document["customerOrder"]["status"] = "PICKED_UP"
        document["customerOrder"]["pickedUpAt"] = format_timestamp(at)
        body = dump_json(document)
        self._topic.publish(
            b"",
            {
                "kind": "pickup",
                "businessUnitId": business_unit_id,
                "customerOrderId": customer_order_id,
                "pickedUpAt": format_timestamp(at),
            },
            ordering_key(business_unit_id, customer_order_id),
        )
        record = dataclasses.replace(
            stored, body=body, status="PICKED_UP", body_sha256=sha256_hex(body), received_at=at
        )
        self._store.write(record, replacing=stored.revision, fields=fields.FIELDS)
        return body
