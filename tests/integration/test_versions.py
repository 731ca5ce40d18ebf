"""Versioned updates and correlation ids on the real stack.

A late version, a retry of an older one or an unversioned PUT never moves a
versioned order backwards; and one correlation id joins a PUT, its answer and
its processing.
"""

from __future__ import annotations

import http.client
import json
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from google.cloud import firestore

from shared.domain.addresses import order_location
from shared.tools.devstack import LocalStack
from tests.support import (
    create_push_subscription,
    create_topic,
    order_body,
    processed_so_far,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration

BU = "BU-VERSIONS"


def put(
    http: requests.Session, base_url: str, order_id: str, headers: dict[str, str], **changes: Any
) -> requests.Response:
    return http.put(
        base_url + order_location(BU, order_id),
        json=order_body(order_id, **changes),
        headers=headers,
        timeout=30,
    )


def _stored_with(client: firestore.Client, order_id: str, status: str) -> dict[str, Any] | None:
    """The order's document once it holds the version of ``status``, else ``None``."""
    document = stored_document(client, BU, order_id)
    return document if document is not None and document["status"] == status else None


def test_a_lower_version_sent_after_a_higher_one_changes_nothing(
    http: requests.Session,
    ingest_url: str,
    stack: LocalStack,
    firestore_client: firestore.Client,
) -> None:
    order_id = unique_id()
    assert put(http, ingest_url, order_id, {"Source-Version": "2"}, status="V2").status_code == 202
    stored = wait_for(lambda: _stored_with(firestore_client, order_id, "V2"), timeout=60)
    # The OMS's retry of a timed-out version 1, and a sender that knows no versions: once
    # each was decided, the document is still version 2's, not even written again.
    for headers, status in (({"Source-Version": "1"}, "V1"), ({}, "UNVERSIONED")):
        assert put(http, ingest_url, order_id, headers, status=status).status_code == 202
        processed_so_far(stack, firestore_client, BU, order_id)
        assert stored_document(firestore_client, BU, order_id) == stored, status
    served = http.get(ingest_url + order_location(BU, order_id), timeout=30)
    assert served.headers["Source-Version"] == "2"


def _raw_put(base_url: str, order_id: str, headers: list[tuple[str, str]]) -> tuple[int, Any]:
    """A PUT with headers exactly as listed, repeated names included."""
    target = urlsplit(base_url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    try:
        body = json.dumps(order_body(order_id)).encode()
        connection.putrequest("PUT", order_location(BU, order_id))
        for name, value in [("Content-Type", "application/json"), *headers]:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("Source-Version", "-1")], id="negative"),
        pytest.param([("Source-Version", str(2**63))], id="2^63"),
        pytest.param([("Source-Version", "1.5")], id="1.5"),
        pytest.param([("Source-Version", "abc")], id="abc"),
        pytest.param([("Source-Version", "")], id="empty"),
        pytest.param([("Source-Version", "1"), ("Source-Version", "2")], id="two-headers"),
        pytest.param([("Correlation-Id", "a b")], id="correlation-id-with-space"),
    ],
)
def test_hostile_headers_are_400_problems(ingest_url: str, headers: list[tuple[str, str]]) -> None:
    status, document = _raw_put(ingest_url, unique_id(), headers)
    assert status == 400
    assert document["type"] == "urn:customer-order-events:problem:invalid-header"


def test_one_correlation_id_joins_the_put_its_answer_and_its_processing(
    http: requests.Session, stack: LocalStack, tmp_path: Path, firestore_client: firestore.Client
) -> None:
    topic = unique_id("correlated")
    create_topic(stack, topic)
    log_path = tmp_path / "processor.log"
    correlation = unique_id("oms-request")
    order_id = unique_id()
    with running_function("processor", stack, log_path=log_path) as processor:
        create_push_subscription(stack, topic, f"{topic}-push", f"{processor}/")
        with running_function("ingest", stack, ORDERS_TOPIC=topic) as ingest:
            answer = put(http, ingest, order_id, {"Correlation-Id": correlation})
            assert answer.status_code == 202
            assert answer.headers["Correlation-Id"] == correlation
        wait_for(lambda: stored_document(firestore_client, BU, order_id), timeout=60)
        stored_line = wait_for(
            lambda: next(
                (
                    line
                    for line in log_path.read_text().splitlines()
                    if f"correlationId={correlation}" in line and " stored " in line
                ),
                None,
            ),
            timeout=30,
        )
    assert f"customerOrderId={order_id}" in stored_line
    assert "decision=stored" in stored_line
    stored = stored_document(firestore_client, BU, order_id)
    assert stored is not None
    assert stored["correlationId"] == correlation


def test_sequential_puts_of_one_order_are_stamped_at_least_a_round_trip_apart(
    http: requests.Session, ingest_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The margin two ingest instances' clocks have before unversioned PUTs can invert.

    An OMS that waits for each 202 before the next PUT of the order gives the two
    stamps at least one PUT round trip between them; a clock difference larger than
    that gap between the two instances that took them would reorder the versions.
    """
    order_id = unique_id()
    stamps = []
    for number in range(60):
        answer = put(http, ingest_url, order_id, {}, status=f"S{number}")
        assert answer.status_code == 202
        stamps.append(datetime.fromisoformat(answer.json()["receivedAt"]))
    gaps = sorted((later - earlier).total_seconds() * 1000 for earlier, later in pairwise(stamps))
    assert gaps[0] > 0
    with capsys.disabled():
        print(
            f"\n[figure] sequential PUTs of one order, gap between receivedAt stamps: "
            f"min {gaps[0]:.2f} ms, p50 {gaps[len(gaps) // 2]:.2f} ms (loopback, emulator)"
        )
