"""Helpers of the dead-letter tests: real dead letters, and an independent look into a queue."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Protocol

from shared.tools.devstack import LocalStack, http_request
from shared.tools.dlq.cli import main
from tests.support import pubsub_base, wait_for

if TYPE_CHECKING:
    import pytest

# The minimum Pub/Sub allows. No retry policy: the emulator then redelivers at
# once and forwards after about 5 s; any retry policy (even 0 s) makes it ~13 s.
MAX_DELIVERY_ATTEMPTS = 5
DEAD_LETTER_TIMEOUT_SECONDS = 60.0


class AlwaysFails(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: every delivery fails on purpose."""


class Publishable(Protocol):
    """An order message, an event, or a raw message: what Pub/Sub carries."""

    @property
    def data(self) -> bytes: ...

    @property
    def attributes(self) -> Mapping[str, str]: ...

    @property
    def ordering_key(self) -> str: ...


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

    def dead_letter(self, messages: Sequence[Publishable]) -> None:
        """Publish to the failing source and wait until all of them are in the dead-letter queue."""
        expected = len(peek(self.stack, self.dead_letter_subscription)) + len(messages)
        publish(self.stack, self.source_topic, messages)
        wait_for(
            lambda: len(peek(self.stack, self.dead_letter_subscription)) >= expected,
            timeout=DEAD_LETTER_TIMEOUT_SECONDS,
            interval=0.5,
        )


def publish(stack: LocalStack, topic: str, messages: Sequence[Publishable]) -> list[str]:
    body = {
        "messages": [
            {
                "data": base64.b64encode(message.data).decode("ascii"),
                "attributes": dict(message.attributes),
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


def in_queue(rig: DeadLetterRig, order_id: str) -> list[dict[str, Any]]:
    """The order's messages in the rig's dead-letter queue, left there."""
    return [
        message
        for message in peek(rig.stack, rig.dead_letter_subscription)
        if message.get("attributes", {}).get("customerOrderId") == order_id
    ]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """orders-dlq run in this process: its exit code and what it printed, out and err."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
