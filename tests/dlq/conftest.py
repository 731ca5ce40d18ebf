"""Real dead letters on the session's Pub/Sub emulator, and an independent look into a queue.

Each test module gets its own topics and subscriptions (the emulator misbehaves
when names are reused) and dead-letters all the messages its tests need in one
go: forwarding takes about 5 s, whatever the number of messages.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from shared.tools.devstack import LocalStack, http_request
from shared.tools.functions import LOOPBACK
from tests.dlq.rig import MAX_DELIVERY_ATTEMPTS, AlwaysFails, DeadLetterRig
from tests.support import create_pull_subscription, create_topic, pubsub_base


@pytest.fixture(scope="session")
def failing_push_endpoint() -> Iterator[str]:
    """A push endpoint answering 500 to everything, so Pub/Sub dead-letters what it pushes."""
    server = ThreadingHTTPServer((LOOPBACK, 0), AlwaysFails)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


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
            # subscription (docs/platform.md); real Pub/Sub does.
            "deadLetterPolicy": {
                "deadLetterTopic": f"projects/{project}/topics/{names['dead-letter']}",
                "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
            },
        },
    )
    assert status == 200, body
    yield DeadLetterRig(stack, names["source"], names["source"], names["dead-letter"])
    http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{names['source']}")
