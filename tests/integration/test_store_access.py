"""Each store sees its own orders only, on the real emulators and the real pos function.

Callers hold ID tokens of the stack's own signer (``orders-dev-token``), verified by
the pos function as it verifies Google's, and grants given with ``orders-stores``
(tests/access_support.py, ``pos_as``). Reads, searches and store updates (``:ready``,
``:pickup``) of two stores, a store-to-store order, a central POS and a stranger; a
store's filtered webhook; and an OMS version forged onto the store-updates topic.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from shared.domain import events
from shared.domain.addresses import (
    document_path,
    order_location,
    pickup_location,
    ready_location,
    search_location,
)
from shared.domain.messages import STORE_UPDATES_PUSH_PATH
from shared.tools.dev_identity import new_private_key
from shared.tools.devstack import LocalStack, free_ports, http_request
from shared.tools.filter_bridge import Route, filter_bridge, parse_filter
from tests.access_support import grant, revoke, token_for
from tests.dlq.rig import publish
from tests.logging_query import POS, cloud_run_entries, compile_filter, extract
from tests.support import (
    SAMPLE_BODY,
    ReceivedEvent,
    create_push_subscription,
    create_topic,
    create_webhook_subscription,
    order_body,
    order_message,
    pubsub_base,
    received_events,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)
from tests.terraform.observability import evaluate

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

CUSTOMER = SAMPLE_BODY["customerOrder"]["customerId"]
SEARCH = {"customerId": CUSTOMER}
# The bound the revocation test runs with: short, so that the test is quick; the
# production 30 s is asserted in tests/unit/test_access.py with the same cache.
TEST_CACHE_SECONDS = 2.0


def put_order(
    http: requests.Session, stack: LocalStack, client: firestore.Client, business_unit_id: str
) -> str:
    order_id = unique_id("ACC")
    answer = http.put(
        stack.config.ingest_url + order_location(business_unit_id, order_id),
        json=order_body(order_id),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    wait_for(lambda: stored_document(client, business_unit_id, order_id))
    return order_id


class Stores:
    """Two stores, each with its identity and one order; a central POS; a stranger."""

    def __init__(self, stack: LocalStack, http: requests.Session, client: firestore.Client) -> None:
        tag = unique_id("S").lower()
        self.units = (f"BU-A-{tag}", f"BU-B-{tag}")
        self.identities = (f"store-a-{tag}@example.com", f"store-b-{tag}@example.com")
        self.central = f"central-{tag}@example.com"
        self.stranger = f"stranger-{tag}@example.com"
        for unit, identity in zip(self.units, self.identities, strict=True):
            grant(stack, identity, unit)
        grant(stack, self.central, everything=True)
        self.orders = tuple(put_order(http, stack, client, unit) for unit in self.units)


@pytest.fixture(scope="module")
def stores(stack: LocalStack, http: requests.Session, firestore_client: firestore.Client) -> Stores:
    return Stores(stack, http, firestore_client)


def get(session: requests.Session, base: str, unit: str, order_id: str) -> requests.Response:
    return session.get(base + order_location(unit, order_id), timeout=30)


def search(session: requests.Session, base: str, unit: str) -> requests.Response:
    return session.post(base + search_location(unit), json=SEARCH, timeout=30)


def assert_forbidden(answer: requests.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"].endswith(":forbidden")


def test_each_store_reads_and_searches_its_own_and_is_refused_the_others(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    base = stack.config.pos_url
    for mine, identity in enumerate(stores.identities):
        other = 1 - mine
        pos = pos_as(identity)
        own = get(pos, base, stores.units[mine], stores.orders[mine])
        assert own.status_code == 200, own.text
        assert own.json()["customerOrder"]["customerOrderId"] == stores.orders[mine]
        found = search(pos, base, stores.units[mine])
        assert found.status_code == 200, found.text
        assert stores.orders[mine] in [o["customerOrderId"] for o in found.json()["customerOrders"]]
        assert_forbidden(get(pos, base, stores.units[other], stores.orders[other]))
        # Alike for an id that does not exist there: the answer tells nothing about it.
        assert_forbidden(get(pos, base, stores.units[other], "CO-nonexistent"))
        assert_forbidden(search(pos, base, stores.units[other]))


def test_an_all_stores_identity_reads_and_searches_every_store(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    pos = pos_as(stores.central)
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert get(pos, stack.config.pos_url, unit, order_id).status_code == 200
        assert search(pos, stack.config.pos_url, unit).status_code == 200


def test_an_identity_without_grants_is_refused_everything(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    pos = pos_as(stores.stranger)
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert_forbidden(get(pos, stack.config.pos_url, unit, order_id))
        assert_forbidden(search(pos, stack.config.pos_url, unit))


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("signed by another key", "another_key"),
        ("expired", {"issued_at": time.time() - 7200}),
        ("for another audience", {"audience": "https://another-function.example.test"}),
    ],
)
def test_a_token_that_proves_nothing_is_401(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    case: str,
    changes: dict[str, object] | str,
) -> None:
    if changes == "another_key":
        changes = {"private_key": new_private_key()}
    assert isinstance(changes, dict)
    token = token_for(stack, stores.identities[0], **changes)
    answer = http.get(
        stack.config.pos_url + order_location(stores.units[0], stores.orders[0]),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["type"].endswith(":unauthenticated")


def test_without_a_token_the_local_stack_is_a_pos_of_every_store(
    stack: LocalStack, stores: Stores, http: requests.Session
) -> None:
    """The docs' curl examples: `make dev` and no token."""
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert get(http, stack.config.pos_url, unit, order_id).status_code == 200


def test_without_the_local_signer_a_request_without_a_token_is_401(
    stack: LocalStack, stores: Stores, http: requests.Session, tmp_path: Path
) -> None:
    """The pos function as deployed: no local signer, so no token is no caller."""
    log = tmp_path / "pos.log"
    with running_function(
        "pos", stack, log_path=log, POS_LOCAL_ISSUER="", POS_LOCAL_CERTS_URL=""
    ) as base:
        answer = get(http, base, stores.units[0], stores.orders[0])
        forged = http.get(
            base + order_location(stores.units[0], stores.orders[0]),
            headers={"Authorization": "Bearer e30.e30.SIGNATURE_REMOVED_BY_GOOGLE"},
            timeout=30,
        )
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert forged.status_code == 401
    assert "X-Serverless-Authorization" in forged.json()["detail"]
    lines = [line for line in log.read_text().splitlines() if "refused 401" in line]
    assert len(lines) == 2
    assert all("identity=unverified" in line for line in lines)


def test_refusals_are_counted_by_identity_from_the_lines_the_function_writes(
    stack: LocalStack, stores: Stores, tmp_path: Path
) -> None:
    """The pos function as on Cloud Run (structured lines); terraform's metric over them."""
    log = tmp_path / "pos.log"
    with running_function("pos", stack, log_path=log, K_SERVICE="set") as base:
        pos = requests.Session()
        pos.headers["Authorization"] = f"Bearer {token_for(stack, stores.identities[0])}"
        assert_forbidden(get(pos, base, stores.units[1], stores.orders[1]))
        assert_forbidden(search(pos, base, stores.units[1]))
        # The store updates' refusals are the same lines: the metric needs no event name.
        assert_forbidden(ready(pos, base, stores.units[1], stores.orders[1]))
        assert_forbidden(pickup(pos, base, stores.units[1], stores.orders[1]))
        assert get(pos, base, stores.units[0], stores.orders[0]).status_code == 200
        forged = token_for(stack, stores.identities[1], private_key=new_private_key())
        refused = requests.get(
            base + order_location(stores.units[1], stores.orders[1]),
            headers={"Authorization": f"Bearer {forged}"},
            timeout=30,
        )
        assert refused.status_code == 401
    entries = cloud_run_entries(log.read_text(), POS)
    metric = evaluate("local.counter_metrics.pos_refusals")
    selected = compile_filter(metric["filter"])
    labels = metric["labels"]
    counted = Counter(
        (extract(labels["identity"]["extractor"], e), extract(labels["status"]["extractor"], e))
        for e in entries
        if selected(e)
    )
    assert counted == {(stores.identities[0], "403"): 4, ("unverified", "401"): 1}
    refused_events = sorted(
        entry["jsonPayload"]["event"]
        for entry in entries
        if selected(entry) and entry["jsonPayload"]["httpStatus"] == 403
    )
    assert refused_events == ["get", "pickup", "ready", "search"]


def test_a_revocation_takes_effect_within_the_bound(
    stack: LocalStack, stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = f"revoked-{unique_id('R').lower()}@example.com"
    unit, order_id = stores.units[0], stores.orders[0]
    grant(stack, identity, unit)
    with running_function("pos", stack, POS_GRANTS_CACHE_SECONDS=str(TEST_CACHE_SECONDS)) as base:
        pos = requests.Session()
        pos.headers["Authorization"] = f"Bearer {token_for(stack, identity)}"
        # Read once: the grant is now in the function's cache.
        assert get(pos, base, unit, order_id).status_code == 200
        revoke(stack, identity)
        revoked_at = time.monotonic()
        answers = []
        while (answer := get(pos, base, unit, order_id)).status_code == 200:
            answers.append(answer.status_code)
            assert time.monotonic() - revoked_at <= TEST_CACHE_SECONDS + 1.0
            time.sleep(0.05)
        took = time.monotonic() - revoked_at
    assert_forbidden(answer)
    with capsys.disabled():
        print(
            f"\nrevocation: refused {took:.2f} s after orders-stores revoke "
            f"(bound {TEST_CACHE_SECONDS:g} s; {len(answers)} answers 200 before)"
        )


def test_a_store_reads_an_order_of_another_unit_to_be_picked_up_at_it_and_searches_only_its_own(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    """An order of store A's path with a fulfillment to be picked up at store B."""
    unit_a, unit_b = stores.units
    order_id = put_store_to_store_order(http, stack, firestore_client, unit_a, unit_b)
    store_b = pos_as(stores.identities[1])
    read = get(store_b, stack.config.pos_url, unit_a, order_id)
    assert read.status_code == 200, read.text
    assert read.json()["customerOrder"]["customerOrderId"] == order_id
    # Reading it is not holding unit A: its other orders and its search stay refused.
    assert_forbidden(get(store_b, stack.config.pos_url, unit_a, stores.orders[0]))
    assert_forbidden(search(store_b, stack.config.pos_url, unit_a))
    # A third store is refused the order.
    assert_forbidden(get(pos_as(stores.stranger), stack.config.pos_url, unit_a, order_id))


# --- Store updates: a store updates the fulfillments assigned to it, and nothing else.


def post_update(
    session: requests.Session, base: str, location: str, update_id: str
) -> requests.Response:
    """A ready or pickup of everything the fulfillment holds (the order's only one)."""
    return session.post(base + location, json={"updateId": update_id}, timeout=30)


def ready(session: requests.Session, base: str, unit: str, order_id: str) -> requests.Response:
    return post_update(session, base, ready_location(unit, order_id), f"r-{uuid.uuid4().hex}")


def pickup(session: requests.Session, base: str, unit: str, order_id: str) -> requests.Response:
    return post_update(session, base, pickup_location(unit, order_id), f"p-{uuid.uuid4().hex}")


def recorded_updates(client: firestore.Client, unit: str, order_id: str) -> list[str]:
    """The ids of the order's recorded store updates (its store-updates subcollection)."""
    collection = client.document(document_path(unit, order_id)).collection("store-updates")
    return sorted(snapshot.id for snapshot in collection.stream())


def stored_snapshot(client: firestore.Client, unit: str, order_id: str) -> tuple[Any, Any]:
    """The order's document and when it was last written."""
    snapshot = client.document(document_path(unit, order_id)).get()
    assert snapshot.exists
    return snapshot.to_dict(), snapshot.update_time


def assert_nothing_recorded(
    client: firestore.Client, unit: str, order_id: str, before: tuple[Any, Any]
) -> None:
    assert recorded_updates(client, unit, order_id) == []
    assert stored_snapshot(client, unit, order_id) == before


def put_store_to_store_order(
    http: requests.Session,
    stack: LocalStack,
    client: firestore.Client,
    path_unit: str,
    pickup_unit: str,
    *,
    order_id: str | None = None,
    version: int | None = None,
) -> str:
    """An order under ``path_unit``'s path, all of it to be picked up at ``pickup_unit``."""
    order_id = order_id or unique_id("S2S")
    body = order_body(order_id)
    body["customerOrder"]["fulfillments"] = [
        {
            "fulfillmentId": "F1",
            "deliveryType": "PICKUP_STORE",
            "businessUnitId": pickup_unit,
            "items": [
                {"itemId": item["itemId"], "quantity": item["quantityOrdered"]}
                for item in body["customerOrder"]["items"]
            ],
        }
    ]
    headers = {} if version is None else {"Source-Version": str(version)}
    answer = http.put(
        stack.config.ingest_url + order_location(path_unit, order_id),
        json=body,
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 202, answer.text

    def stored() -> bool:
        document = stored_document(client, path_unit, order_id)
        return document is not None and (version is None or document["sourceVersion"] == version)

    wait_for(stored)
    return order_id


def test_each_store_updates_its_own_orders_and_is_refused_the_others_with_nothing_recorded(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    base = stack.config.pos_url
    orders = [put_order(http, stack, firestore_client, unit) for unit in stores.units]
    sessions = [pos_as(identity) for identity in stores.identities]
    before = [
        stored_snapshot(firestore_client, unit, order_id)
        for unit, order_id in zip(stores.units, orders, strict=True)
    ]
    for mine, session in enumerate(sessions):
        other = 1 - mine
        assert_forbidden(ready(session, base, stores.units[other], orders[other]))
        assert_forbidden(pickup(session, base, stores.units[other], orders[other]))
    for unit, order_id, snapshot in zip(stores.units, orders, before, strict=True):
        assert_nothing_recorded(firestore_client, unit, order_id, snapshot)

    for mine, session in enumerate(sessions):
        readied = ready(session, base, stores.units[mine], orders[mine])
        assert readied.status_code == 200, readied.text
        handed = pickup(session, base, stores.units[mine], orders[mine])
        assert handed.status_code == 200, handed.text
        [fulfillment] = handed.json()["customerOrder"]["fulfillments"]
        assert fulfillment["status"] == "FULFILLED"
        # Its own two and nothing else: had a refused update been published, the
        # processor would have handled it first (one ordering key, in order).
        wait_for(
            lambda: len(recorded_updates(firestore_client, stores.units[mine], orders[mine])) == 2  # noqa: B023
        )


def test_the_pickup_store_updates_a_store_to_store_fulfillment_and_the_path_s_store_cannot(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    """Sold under store A's path, to be picked up at store B: B's to update, not A's."""
    base = stack.config.pos_url
    unit_a, unit_b = stores.units
    order_id = put_store_to_store_order(http, stack, firestore_client, unit_a, unit_b)
    store_a, store_b = (pos_as(identity) for identity in stores.identities)
    before = stored_snapshot(firestore_client, unit_a, order_id)
    assert_forbidden(ready(store_a, base, unit_a, order_id))
    assert_forbidden(pickup(store_a, base, unit_a, order_id))
    assert_nothing_recorded(firestore_client, unit_a, order_id, before)

    readied = ready(store_b, base, unit_a, order_id)
    assert readied.status_code == 200, readied.text
    assert readied.json()["customerOrder"]["fulfillments"][0]["status"] == "READY_FOR_PICKUP"
    assert_forbidden(pickup(store_a, base, unit_a, order_id))
    handed = pickup(store_b, base, unit_a, order_id)
    assert handed.status_code == 200, handed.text
    assert handed.json()["customerOrder"]["fulfillments"][0]["status"] == "FULFILLED"
    wait_for(lambda: len(recorded_updates(firestore_client, unit_a, order_id)) == 2)


def test_an_all_stores_identity_updates_any_order_and_a_stranger_none(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    base = stack.config.pos_url
    unit_a, unit_b = stores.units
    orders = [
        (unit_a, put_order(http, stack, firestore_client, unit_a)),
        (unit_b, put_order(http, stack, firestore_client, unit_b)),
        (unit_a, put_store_to_store_order(http, stack, firestore_client, unit_a, unit_b)),
    ]
    central, stranger = pos_as(stores.central), pos_as(stores.stranger)
    for unit, order_id in orders:
        before = stored_snapshot(firestore_client, unit, order_id)
        assert_forbidden(ready(stranger, base, unit, order_id))
        assert_forbidden(pickup(stranger, base, unit, order_id))
        assert_nothing_recorded(firestore_client, unit, order_id, before)
        assert ready(central, base, unit, order_id).status_code == 200
        assert pickup(central, base, unit, order_id).status_code == 200


# --- A store's webhook: the events of the fulfillments assigned to it, whatever the path.


def test_a_store_s_filtered_webhook_receives_its_fulfillments_under_another_unit_s_path(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    """A webhook with business_units [B] on the session's events topic, filtered by the
    filter bridge as Pub/Sub filters (docs/development.md). One order under A's path:
    version 1 to be picked up at a third store, version 2 moved to B, then B readies it.
    The subscription is ordered, so B's webhook receiving version 2's event means version
    1's was decided: left out."""
    unit_a, unit_b = stores.units
    unit_c = f"BU-C-{unit_a.rsplit('-', 1)[-1]}"
    name = f"store-b-{uuid.uuid4().hex[:8]}"
    subscription = f"{stack.config.events_topic}-{name}"
    store_filter = events.store_filter([unit_b])
    assert store_filter is not None
    route = Route(f"{stack.config.receiver_url}/webhooks/{name}", parse_filter(store_filter))
    with filter_bridge(free_ports(1)[0], {name: route}) as bridge:
        create_webhook_subscription(
            stack, stack.config.events_topic, subscription, f"{bridge}/{name}"
        )
        try:
            order_id = put_store_to_store_order(
                http, stack, firestore_client, unit_a, unit_c, version=1
            )
            put_store_to_store_order(
                http, stack, firestore_client, unit_a, unit_b, order_id=order_id, version=2
            )
            readied = ready(pos_as(stores.identities[1]), stack.config.pos_url, unit_a, order_id)
            assert readied.status_code == 200, readied.text

            def told() -> list[ReceivedEvent] | None:
                # Only this order's: events of store B's other orders may come as well.
                received = [
                    event
                    for event in received_events(stack.config.receiver_url, name)
                    if event.order == (unit_a, order_id)
                ]
                types = [event.type for event in received]
                return received if events.READY_FOR_PICKUP in types else None

            received = wait_for(told, timeout=60, interval=0.5)
        finally:
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{subscription}")
    assert [(event.type, event.source_version) for event in received] == [
        (events.UPDATED, 2),
        (events.READY_FOR_PICKUP, 2),
    ]
    for event in received:
        headers = {key.lower(): value for key, value in event.headers.items()}
        assert headers[events.store_attribute(unit_b)] == unit_b
    # The session's unfiltered webhook got version 1's event: it was published.
    everything = received_events(stack.config.receiver_url, "local")
    assert any(
        event.order == (unit_a, order_id) and event.type == events.CREATED for event in everything
    )


# --- The pos function's identity cannot forge the OMS.


def test_an_oms_version_on_the_store_updates_topic_is_refused_by_the_processor(
    stack: LocalStack, firestore_client: firestore.Client, tmp_path: Path
) -> None:
    """What ingest would publish (no kind, its digest right), published where only store
    updates belong: the processor's /store-updates path refuses it (422, so Pub/Sub
    delivers it again) and never stores it. Own topics and processor instance, so that
    the session's subscriptions are never held up by it. The same message on an orders
    topic is stored: it is the path that refuses it, not the message."""
    unit, order_id = "BU-FORGED", unique_id("FORGED")
    forged = order_message(unit, order_id, datetime.now(UTC))
    suffix = uuid.uuid4().hex[:10]
    updates_topic, orders_topic = f"forged-updates-{suffix}", f"forged-orders-{suffix}"
    log = tmp_path / "processor.log"
    with running_function("processor", stack, log_path=log) as processor:
        create_topic(stack, updates_topic)
        create_push_subscription(
            stack, updates_topic, updates_topic, processor + STORE_UPDATES_PUSH_PATH
        )
        try:
            [message_id] = publish(stack, updates_topic, [forged])

            def refusals() -> list[str]:
                return [
                    line
                    for line in log.read_text().splitlines()
                    if f"undecodable message messageId={message_id} from the store-updates" in line
                ]

            # Refused, delivered again, refused again.
            wait_for(lambda: len(refusals()) >= 2, timeout=60, interval=0.2)
        finally:
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{updates_topic}")
        assert "carries only kind='store-update', not an order" in refusals()[0]
        assert stored_document(firestore_client, unit, order_id) is None

        create_topic(stack, orders_topic)
        create_push_subscription(stack, orders_topic, orders_topic, f"{processor}/")
        try:
            publish(stack, orders_topic, [forged])
            wait_for(lambda: stored_document(firestore_client, unit, order_id), timeout=30)
        finally:
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{orders_topic}")
