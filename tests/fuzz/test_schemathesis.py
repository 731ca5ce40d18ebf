"""Schemathesis drives a real ingest function from the OpenAPI document.

The instance publishes to a topic of its own with a pull subscription, so the
test sees exactly what reached Pub/Sub: every message must decode as a valid
order, and each one must be the body of a request that got a 202 (and each 202
must have its message), byte for byte, with the ids and ``receivedAt`` the
answer named.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from shared.domain.messages import decode_message
from shared.tools.devstack import LocalStack
from shared.tools.functions import REPO_ROOT
from shared.tools.openapi import OPENAPI_PATH
from tests.fuzz.hooks import RECORD_ENV
from tests.support import (
    create_pull_subscription,
    create_topic,
    pull_all,
    running_function,
    unique_id,
)

pytestmark = pytest.mark.integration

# Per operation; the coverage phase adds cases of its own. Bounded by the suite's time:
# the hostile-input tests and make fuzz go past what a schema generates.
MAX_EXAMPLES = 100
# Data valid by the schema may rightly be refused: JSON Schema cannot say "printable",
# "storable in Firestore" or "the body's id equals the path's". And nothing processes
# this topic, so a GET after a 202 is rightly 404.
EXCLUDED_CHECKS = "positive_data_acceptance,use_after_free,ensure_resource_availability"


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _as_the_function_serves_it(folder: Path) -> Path:
    """The committed document without its security requirement, written into ``folder``.

    The ID token it declares is checked by Cloud Run in front of the function
    (docs/deploying.md#identities-and-iam), so the function run here rightly serves a
    request without one: Schemathesis would take that for a required header ignored.
    """
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    for path_item in document["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    document["components"].pop("securitySchemes", None)
    path = folder / "openapi-as-served.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _path_ids(url: str) -> tuple[str, str]:
    parts = urlsplit(url).path.split("/")
    return unquote(parts[2]), unquote(parts[4])


def test_fuzzed_requests_never_fail_and_publish_only_what_got_a_202(
    stack: LocalStack, tmp_path: Path
) -> None:
    topic, subscription = unique_id("fuzz-orders"), unique_id("fuzz-orders-pull")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, subscription)
    record = tmp_path / "exchanges.jsonl"

    # The production publish timeout: a slow moment on a busy machine must not turn
    # into a 503, which the run (rightly) counts as a server error.
    with running_function("ingest", stack, ORDERS_TOPIC=topic, PUBLISH_TIMEOUT_SECONDS="10") as url:
        run = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run",
                str(_as_the_function_serves_it(tmp_path)),
                f"--url={url}",
                "--checks=all",
                f"--exclude-checks={EXCLUDED_CHECKS}",
                "--phases=examples,coverage,fuzzing",
                f"--max-examples={MAX_EXAMPLES}",
                "--mode=all",
                # Two workers crash the coverage phase on CPython 3.11 (a SystemError in
                # ast.parse under threads, from Hypothesis describing a filter).
                "--workers=1",
                "--generation-database=none",
                "--request-timeout=30",
                "--no-color",
            ],
            # Its cache of crashes goes to the cwd; keep it out of the work tree.
            cwd=tmp_path,
            env={
                **stack.function_env(),
                "PYTHONPATH": str(REPO_ROOT),
                "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
                RECORD_ENV: str(record),
            },
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )  # fmt: skip
    summary = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, summary

    exchanges = _records(record)
    statuses = {exchange["status"] for exchange in exchanges}
    counts = {status: sum(e["status"] == status for e in exchanges) for status in sorted(statuses)}
    print(f"schemathesis: {len(exchanges)} requests, by status {counts}")
    print(run.stdout[run.stdout.rfind("SUMMARY") :])
    assert all(status < 500 for status in statuses), summary
    # Without these the run proved little: something must have been published,
    # and the main kinds of rejection must have been met.
    assert {202, 400, 422} <= statuses, statuses
    searched = {e["status"] for e in exchanges if e["method"] == "POST"}
    assert {200, 422} <= searched, searched

    accepted: dict[str, dict[str, Any]] = {}
    for exchange in exchanges:
        if exchange["method"] == "PUT" and exchange["status"] == 202:
            answer = json.loads(base64.b64decode(exchange["answer"]))
            accepted[answer["messageId"]] = {**exchange, "answer": answer}

    published = pull_all(stack, subscription, settle=2.0)
    by_id = {message["messageId"]: message for message in published}
    assert len(by_id) == len(published), "a message was delivered twice to the pull"
    for message in published:
        decode_message(
            base64.b64decode(message.get("data", "")),
            message.get("attributes", {}),
            message["messageId"],
        )
    assert set(by_id) == set(accepted), (
        f"published without a 202: {sorted(set(by_id) - set(accepted))}, "
        f"202 without a message: {sorted(set(accepted) - set(by_id))}"
    )
    for message_id, exchange in accepted.items():
        message = by_id[message_id]
        business_unit_id, customer_order_id = _path_ids(exchange["url"])
        sent = base64.b64decode(exchange["request"])
        order = json.loads(sent)["customerOrder"]
        assert base64.b64decode(message["data"]) == sent
        versioned = (
            {"sourceVersion": str(int(exchange["sourceVersion"]))}
            if exchange["sourceVersion"] is not None
            else {}
        )
        assert message["attributes"] == versioned | {
            "businessUnitId": business_unit_id,
            "customerOrderId": customer_order_id,
            "receivedAt": exchange["answer"]["receivedAt"],
            "customerId": order["customerId"],
            "status": order["status"],
            "bodySha256": hashlib.sha256(sent).hexdigest(),
            "correlationId": exchange["correlationId"],
        }
        assert exchange["correlationId"]
        assert exchange["answer"]["businessUnitId"] == business_unit_id
        assert exchange["answer"]["customerOrderId"] == customer_order_id
