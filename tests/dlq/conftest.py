"""Real dead letters on the session's Pub/Sub emulator, and an independent look into a queue.

Each test module gets its own topics and subscriptions (the emulator misbehaves
when names are reused) and dead-letters all the messages its tests need in one
go: forwarding takes about 5 s, whatever the number of messages.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.devstack import LOOPBACK, LocalStack, http_request
from shared.messages import OrderMessage
from tests.support import create_pull_subscription, create_topic, wait_for

# The minimum Pub/Sub allows. No retry policy: the emulator then redelivers at
# once and forwards after about 5 s; any retry policy (even 0 s) makes it ~13 s.
MAX_DELIVERY_ATTEMPTS = 5
DEAD_LETTER_TIMEOUT_SECONDS = 60.0


class _AlwaysFails(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: every delivery fails on purpose."""


@pytest.fixture(scope="session")
def failing_push_endpoint() -> Iterator[str]:
    """A push endpoint answering 500 to everything, so Pub/Sub dead-letters what it pushes."""
    server = ThreadingHTTPServer((LOOPBACK, 0), _AlwaysFails)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class RawMessage:
    """A message that does not follow the order message format."""

    data: bytes
    attributes: dict[str, str]
    ordering_key: str = ""


@dataclass(frozen=True)
class DeadLetterRig:
    stack: LocalStack
    source_topic: str
    source_subscription: str
    dead_letter_subscription: str

    def dead_letter(self, messages: list[OrderMessage | RawMessage]) -> None:
        """Publish to the failing source and wait until all of them are in the dead-letter queue."""
        expected = len(peek(self.stack, self.dead_letter_subscription)) + len(messages)
        publish(self.stack, self.source_topic, messages)
        wait_for(
            lambda: len(peek(self.stack, self.dead_letter_subscription)) >= expected,
            timeout=DEAD_LETTER_TIMEOUT_SECONDS,
            interval=0.5,
        )


@pytest.fixture(scope="module")
def rig(stack: LocalStack, failing_push_endpoint: str) -> Iterator[DeadLetterRig]:
    suffix = uuid.uuid4().hex[:10]
    project = stack.config.project_id
    names = {kind: f"dlq-test-{kind}-{suffix}" for kind in ("source", "dead-letter")}
    create_topic(stack, names["source"])
    create_topic(stack, names["dead-letter"])
    create_pull_subscription(stack, names["dead-letter"], names["dead-letter"])
    status, body = http_request(
        "PUT",
        f"{pubsub_base(stack)}/subscriptions/{names['source']}",
        {
            "topic": f"projects/{project}/topics/{names['source']}",
            "pushConfig": {"pushEndpoint": failing_push_endpoint},
            "ackDeadlineSeconds": 10,
            # Unordered on purpose: the emulator never dead-letters from an ordered
            # subscription (platform notes); real Pub/Sub does.
            "deadLetterPolicy": {
                "deadLetterTopic": f"projects/{project}/topics/{names['dead-letter']}",
                "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
            },
        },
    )
    assert status == 200, body
    yield DeadLetterRig(stack, names["source"], names["source"], names["dead-letter"])
    http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{names['source']}")


def pubsub_base(stack: LocalStack) -> str:
    return f"http://{stack.config.pubsub_host}/v1/projects/{stack.config.project_id}"


def publish(stack: LocalStack, topic: str, messages: list[OrderMessage | RawMessage]) -> list[str]:
    body = {
        "messages": [
            {
                "data": base64.b64encode(message.data).decode("ascii"),
                "attributes": message.attributes,
                "orderingKey": message.ordering_key,
            }
            for message in messages
        ]
    }
    status, answer = http_request("POST", f"{pubsub_base(stack)}/topics/{topic}:publish", body)
    assert status == 200, answer
    message_ids: list[str] = json.loads(answer)["messageIds"]
    return message_ids


def peek(stack: LocalStack, subscription: str) -> list[dict[str, Any]]:
    """Every message in the subscription, handed back at once: nothing is consumed.

    Independent of orders-dlq on purpose, so its tests do not check it with itself.
    """
    url = f"{pubsub_base(stack)}/subscriptions/{subscription}"
    received: list[dict[str, Any]] = []
    try:
        while True:
            status, body = http_request(
                "POST", f"{url}:pull", {"maxMessages": 1000, "returnImmediately": True}
            )
            assert status == 200, body
            batch = json.loads(body or b"{}").get("receivedMessages", [])
            if not batch:
                return [item["message"] for item in received]
            received.extend(batch)
    finally:
        if received:
            status, body = http_request(
                "POST",
                f"{url}:modifyAckDeadline",
                {"ackIds": [item["ackId"] for item in received], "ackDeadlineSeconds": 0},
            )
            assert status == 200, body


def attributes_of(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [message.get("attributes", {}) for message in messages]
