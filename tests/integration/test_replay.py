"""A replay after a bug: the orders topic retains its messages, and seeking the processor's
subscription back to before the bad release replays them through the conflict rule
(docs/operations.md#replaying-after-a-bug).

The real processor, on the emulators, behind a push subscription of a topic that retains
its messages as terraform/pubsub.tf's orders topic does. "The bad release" is what it
leaves in Firestore, written there directly after the processor acknowledged each message:
a version older than the one acknowledged, an order acknowledged and never stored, and a
record of the right version with a wrong field. Seeking is the Pub/Sub client's, as
``gcloud pubsub subscriptions seek`` calls it. The emulator seeks an unordered subscription
to a time, and an ordered one only to a snapshot (docs/platform.md#seek-and-replay-on-the-emulator):
the processor's real subscription is ordered, so both are here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient, types

from shared.domain.addresses import document_path
from shared.domain.messages import OrderMessage
from shared.tools.devstack import LocalStack, http_request
from tests.support import (
    create_push_subscription,
    order_body,
    order_message,
    pubsub_base,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration

BU = "REPLAY"
# terraform/variables.tf's default orders_topic_retention_seconds: 7 days.
RETENTION = "604800s"


class Replay:
    def __init__(self, stack: LocalStack, processor: str, log: Path) -> None:
        self.stack, self.processor, self.log = stack, processor, log
        self.project = stack.config.project_id
        self.publisher = PublisherClient(
            publisher_options=types.PublisherOptions(enable_message_ordering=True)
        )
        self.subscriber = SubscriberClient()

    def topic_and_subscription(self, *, ordered: bool) -> tuple[str, str]:
        """A topic that retains its messages, pushed to the processor."""
        name = unique_id("replay")
        status, body = http_request(
            "PUT",
            f"{pubsub_base(self.stack)}/topics/{name}",
            {"messageRetentionDuration": RETENTION},
        )
        assert status == 200, body
        assert json.loads(body)["messageRetentionDuration"] == RETENTION
        create_push_subscription(self.stack, name, name, f"{self.processor}/", ordered=ordered)
        return (
            f"projects/{self.project}/topics/{name}",
            f"projects/{self.project}/subscriptions/{name}",
        )

    def publish(self, topic: str, message: OrderMessage) -> None:
        self.publisher.publish(
            topic, message.data, ordering_key=message.ordering_key, **message.attributes
        ).result(timeout=10)

    def decisions(self, order: str) -> list[str]:
        """The processor's decision of each delivery of ``order``, in order."""
        found = []
        for line in self.log.read_text().splitlines():
            if not line.startswith("{"):
                continue
            fields: dict[str, Any] = json.loads(line)
            if fields.get("event") == "process" and fields.get("customerOrderId") == order:
                found.append(fields["decision"])
        return found

    def seek_to_time(self, subscription: str, when: datetime) -> None:
        # proto-plus turns the datetime into the request's Timestamp.
        self.subscriber.seek(request={"subscription": subscription, "time": when})


@pytest.fixture(scope="module")
def replay(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    log = tmp_path_factory.mktemp("replay") / "processor.log"
    with running_function("processor", stack, log_path=log, K_SERVICE="set") as processor:
        yield Replay(stack, processor, log)


def _stored(client: firestore.Client, *orders: str) -> None:
    wait_for(lambda: all(stored_document(client, BU, order) for order in orders), timeout=60)


def test_seeking_back_to_before_the_bad_release_replays_it_through_the_conflict_rule(
    replay: Replay, firestore_client: firestore.Client
) -> None:
    topic, subscription = replay.topic_and_subscription(ordered=False)
    before, updated, lost, wrong, moved_on = (unique_id() for _ in range(5))
    now = datetime.now(UTC)
    first = order_message(BU, updated, now - timedelta(seconds=2))
    replay.publish(topic, order_message(BU, before, now - timedelta(seconds=2)))
    replay.publish(topic, first)
    _stored(firestore_client, before, updated)
    stored_first = stored_document(firestore_client, BU, updated)
    assert stored_first is not None

    # The bad release goes out: what is published from here on, it acknowledges wrongly.
    # A second either side, so that the seek time falls clearly between the two.
    time.sleep(1)
    released = datetime.now(UTC)
    time.sleep(1)
    second = order_message(BU, updated, datetime.now(UTC), order_body(updated, status="PROCESSING"))
    for message in (
        second,
        order_message(BU, lost, datetime.now(UTC)),
        order_message(BU, wrong, datetime.now(UTC)),
    ):
        replay.publish(topic, message)
    wait_for(lambda: replay.decisions(updated) == ["stored", "stored"], timeout=60)
    _stored(firestore_client, lost, wrong)
    # One order the bad release stored right, and the OMS moved on from.
    replay.publish(topic, order_message(BU, moved_on, datetime.now(UTC)))
    wait_for(lambda: replay.decisions(moved_on) == ["stored"], timeout=60)
    replay.publish(
        topic,
        order_message(BU, moved_on, datetime.now(UTC), order_body(moved_on, status="PROCESSING")),
    )
    wait_for(lambda: replay.decisions(moved_on) == ["stored", "stored"], timeout=60)
    right = stored_document(firestore_client, BU, wrong)
    assert right is not None
    # What it left: the first version over the second, nothing for one order, and the
    # right version of another with a wrong customerId.
    firestore_client.document(document_path(BU, updated)).set(stored_first)
    firestore_client.document(document_path(BU, lost)).delete()
    firestore_client.document(document_path(BU, wrong)).update({"customerId": "WRONG"})

    # Fixed and deployed: seek to before the bad release.
    replay.seek_to_time(subscription, released)
    wait_for(lambda: len(replay.decisions(wrong)) == 2, timeout=60)
    _stored(firestore_client, lost)
    wait_for(
        lambda: (
            (stored_document(firestore_client, BU, updated) or {}).get("status") == "PROCESSING"
        ),
        timeout=60,
    )
    # The processor logs its decision after its commit: the documents can be seen first.
    wait_for(lambda: replay.decisions(updated) == ["stored", "stored", "stored"], timeout=10)
    wait_for(lambda: replay.decisions(lost) == ["stored", "stored"], timeout=10)
    # What was published before the release is not replayed.
    assert replay.decisions(before) == ["stored"]
    # Stored right: the newer version is a duplicate, the older one stale.
    wait_for(lambda: len(replay.decisions(moved_on)) == 4, timeout=60)
    assert sorted(replay.decisions(moved_on)[2:]) == ["duplicate", "stale"]
    # The same version again is a duplicate: a wrong record of it stays wrong.
    assert replay.decisions(wrong) == ["stored", "duplicate"]
    assert (stored_document(firestore_client, BU, wrong) or {})["customerId"] == "WRONG"

    # For that, the procedure deletes the record (its whole history is still on the
    # topic: it was created after the seek time) and seeks again.
    firestore_client.document(document_path(BU, wrong)).delete()
    replay.seek_to_time(subscription, released)
    _stored(firestore_client, wrong)
    assert (stored_document(firestore_client, BU, wrong) or {})["customerId"] == right["customerId"]
    wait_for(lambda: len(replay.decisions(updated)) == 4, timeout=60)
    assert replay.decisions(updated)[-1] == "duplicate"


def test_an_ordered_subscription_replays_from_a_snapshot_taken_before_the_release(
    replay: Replay, firestore_client: firestore.Client
) -> None:
    topic, subscription = replay.topic_and_subscription(ordered=True)
    order, lost = unique_id(), unique_id()
    first = order_message(BU, order, datetime.now(UTC))
    replay.publish(topic, first)
    wait_for(lambda: replay.decisions(order) == ["stored"], timeout=60)
    stored_first = stored_document(firestore_client, BU, order)
    assert stored_first is not None
    # The snapshot keeps what is unacknowledged when it is taken: let the 204 land first.
    time.sleep(1)

    snapshot = f"projects/{replay.project}/snapshots/{unique_id('before-release')}"
    replay.subscriber.create_snapshot(request={"name": snapshot, "subscription": subscription})
    replay.publish(
        topic, order_message(BU, order, datetime.now(UTC), order_body(order, status="PROCESSING"))
    )
    replay.publish(topic, order_message(BU, lost, datetime.now(UTC)))
    wait_for(lambda: replay.decisions(order) == ["stored", "stored"], timeout=60)
    _stored(firestore_client, lost)
    firestore_client.document(document_path(BU, order)).set(stored_first)
    firestore_client.document(document_path(BU, lost)).delete()

    # The emulator does not seek an ordered subscription to a time (Google Cloud does).
    with pytest.raises(exceptions.MethodNotImplemented):
        replay.seek_to_time(subscription, datetime.now(UTC) - timedelta(minutes=1))
    replay.subscriber.seek(request={"subscription": subscription, "snapshot": snapshot})
    _stored(firestore_client, lost)
    wait_for(
        lambda: (stored_document(firestore_client, BU, order) or {}).get("status") == "PROCESSING",
        timeout=60,
    )
    wait_for(lambda: replay.decisions(order) == ["stored", "stored", "stored"], timeout=10)
    wait_for(lambda: replay.decisions(lost) == ["stored", "stored"], timeout=10)
