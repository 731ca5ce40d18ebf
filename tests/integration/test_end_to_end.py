"""PUT to the ingest function, through the real Pub/Sub emulator and processor, into Firestore."""

from __future__ import annotations

import base64
import hashlib
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from google.cloud import firestore

from shared.domain.addresses import collection_path, order_location
from shared.domain.timestamps import parse_timestamp
from shared.tools.devstack import LocalStack
from tests.support import (
    create_pull_subscription,
    create_topic,
    order_body,
    order_message,
    processed_so_far,
    pull_all,
    running_function,
    stored_body,
    stored_document,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration


def put(
    http: requests.Session, base_url: str, bu: str, order_id: str, body: Any
) -> requests.Response:
    return http.put(
        f"{base_url}/business-units/{bu}/customer-orders/{order_id}", json=body, timeout=30
    )


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[figure] {line}")


def test_a_put_order_is_stored_and_served(
    http: requests.Session,
    ingest_url: str,
    firestore_client: firestore.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    visible_after: list[float] = []
    for _ in range(2):
        order_id = unique_id()
        body = order_body(order_id, loyaltyTier="gold")
        started = time.perf_counter()
        response = put(http, ingest_url, "BU1", order_id, body)
        assert response.status_code == 202, response.text
        accepted = response.json()

        document = wait_for(lambda: stored_document(firestore_client, "BU1", order_id))  # noqa: B023
        visible_after.append(time.perf_counter() - started)
        assert stored_body(document) == body
        assert document["messageId"] == accepted["messageId"]
        assert document["receivedAt"] == parse_timestamp(accepted["receivedAt"])
        assert document["processedAt"] >= document["receivedAt"]

        served = http.get(f"{ingest_url}/business-units/BU1/customer-orders/{order_id}", timeout=10)
        assert served.status_code == 200
        assert served.json() == body
        assert served.headers["ETag"] == response.headers["ETag"]
        assert served.headers["Received-At"] == accepted["receivedAt"]
        assert served.headers["Last-Modified"].endswith("GMT")
    report(
        capsys,
        "one order, PUT to document visible: "
        + ", then ".join(f"{seconds * 1000:.0f} ms" for seconds in visible_after),
    )


def test_get_of_an_order_never_sent_is_404_problem(http: requests.Session, ingest_url: str) -> None:
    response = http.get(
        f"{ingest_url}/business-units/BU1/customer-orders/{unique_id()}", timeout=10
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_every_order_ends_at_its_last_version(
    http: requests.Session,
    ingest_url: str,
    firestore_client: firestore.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """50 orders x 5 versions, each order's versions in sequence, the orders concurrently."""
    bu = unique_id("BU")
    order_ids = [unique_id() for _ in range(50)]
    versions = 5
    put_latencies: list[float] = []
    lock = threading.Lock()

    def send_versions(order_id: str) -> None:
        with requests.Session() as session:
            for version in range(1, versions + 1):
                started = time.perf_counter()
                response = put(
                    session, ingest_url, bu, order_id, order_body(order_id, version=version)
                )
                assert response.status_code == 202, response.text
                with lock:
                    put_latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(send_versions, order_ids))
    all_accepted = time.perf_counter() - started

    def all_final() -> bool:
        documents = {
            snapshot.id: snapshot.to_dict() or {}
            for snapshot in firestore_client.collection(collection_path(bu)).stream()
        }
        return len(documents) == len(order_ids) and all(
            stored_body(document)["customerOrder"]["version"] == versions  # type: ignore[index]
            for document in documents.values()
        )

    wait_for(all_final, timeout=60, interval=0.1)
    all_visible = time.perf_counter() - started
    put_latencies.sort()
    report(
        capsys,
        f"{len(order_ids)} orders x {versions} versions: all 202 after {all_accepted:.2f} s, "
        f"all final versions visible after {all_visible:.2f} s; PUT p50 "
        f"{statistics.median(put_latencies) * 1000:.0f} ms, "
        f"p99 {put_latencies[int(len(put_latencies) * 0.99)] * 1000:.0f} ms",
    )


def test_duplicates_and_older_messages_leave_the_document_unchanged(
    http: requests.Session,
    ingest_url: str,
    stack: LocalStack,
    firestore_client: firestore.Client,
) -> None:
    from google.cloud.pubsub_v1 import PublisherClient, types

    order_id = unique_id()
    response = put(http, ingest_url, "BU1", order_id, order_body(order_id, status="PAID"))
    assert response.status_code == 202
    current = wait_for(lambda: stored_document(firestore_client, "BU1", order_id))
    received_at = current["receivedAt"]

    publisher = PublisherClient(
        publisher_options=types.PublisherOptions(enable_message_ordering=True)
    )
    topic = f"projects/{stack.config.project_id}/topics/{stack.config.orders_topic}"

    def publish(status: str, at: Any) -> None:
        message = order_message("BU1", order_id, at, status=status)
        publisher.publish(
            topic, message.data, ordering_key=message.ordering_key, **message.attributes
        ).result(timeout=10)

    publish("DUPLICATE", received_at)
    publish("STALE", received_at - timedelta(seconds=1))
    processed_so_far(stack, firestore_client, "BU1", order_id)
    assert stored_document(firestore_client, "BU1", order_id) == current


def test_a_publish_failure_is_503_and_the_next_put_of_that_order_succeeds(
    http: requests.Session, stack: LocalStack
) -> None:
    topic = unique_id("topic")
    order_id = unique_id()
    with running_function("ingest", stack, ORDERS_TOPIC=topic) as url:
        failed = put(http, url, "BU1", order_id, order_body(order_id, attempt=1))
        assert failed.status_code == 503
        assert failed.headers["Content-Type"] == "application/problem+json"
        assert int(failed.headers["Retry-After"]) > 0
        assert "Traceback" not in failed.text

        create_topic(stack, topic)
        create_pull_subscription(stack, topic, f"{topic}-tap")
        accepted = put(http, url, "BU1", order_id, order_body(order_id, attempt=2))
        assert accepted.status_code == 202, accepted.text

    [message] = pull_all(stack, f"{topic}-tap")
    assert message["messageId"] == accepted.json()["messageId"]
    assert message["attributes"]["customerOrderId"] == order_id
    assert message["orderingKey"] == f"BU1/{order_id}"


def test_the_message_on_the_topic_follows_the_format(
    http: requests.Session, stack: LocalStack
) -> None:
    topic = unique_id("topic")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, f"{topic}-tap")
    order_id = unique_id()
    body = order_body(order_id)
    sent = json.dumps(body, indent=2).encode()
    with running_function("ingest", stack, ORDERS_TOPIC=topic) as url:
        answer = http.put(
            url + order_location("BU 7", order_id),
            data=sent,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        accepted = answer.json()

    [message] = pull_all(stack, f"{topic}-tap")
    assert base64.b64decode(message["data"]) == sent
    assert message["attributes"] == {
        "businessUnitId": "BU 7",
        "customerOrderId": order_id,
        "receivedAt": accepted["receivedAt"],
        "customerId": body["customerOrder"]["customerId"],
        "status": body["customerOrder"]["status"],
        "bodySha256": hashlib.sha256(sent).hexdigest(),
        "correlationId": answer.headers["Correlation-Id"],
    }
    assert message["orderingKey"] == f"BU 7/{order_id}"
