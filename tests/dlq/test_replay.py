"""orders-dlq replay: into the session stack's orders topic, through the real processor.

The seed rule: a replayed message is ignored when a newer version of the same
order was processed meanwhile, because replay keeps the original receivedAt.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from shared.domain.messages import OrderMessage
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.tools.devstack import LocalStack
from tests.dlq.rig import DeadLetterRig, RawMessage, attributes_of, in_queue, run_cli
from tests.support import (
    create_pull_subscription,
    create_topic,
    order_body,
    order_message,
    processed_so_far,
    pull_all,
    stored_document,
    wait_for,
)

pytestmark = pytest.mark.integration

BU = "BU-REPLAY"
SETTLE = "0.5"


def _version(order_id: str, status: str, received_at: datetime) -> OrderMessage:
    return order_message(BU, order_id, received_at, status=status)


class Letters:
    """The messages this module dead-letters up front, one order per test."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.stale = _version(f"STALE-{uuid.uuid4().hex[:8]}", "V1", now)
        self.only = _version(f"ONLY-{uuid.uuid4().hex[:8]}", "V1", now - timedelta(minutes=1))
        self.versioned = dataclasses.replace(
            _version(f"VERSIONED-{uuid.uuid4().hex[:8]}", "V7", now - timedelta(minutes=2)),
            source_version=7,
            correlation_id="oms-replayed-7",
        )
        self.shape = _version("SHAPE", "V1", now - timedelta(hours=1))
        broken = _version("BROKEN", "V1", now)
        self.undecodable = RawMessage(
            broken.data,
            {"businessUnitId": BU, "customerOrderId": "BROKEN"},  # no receivedAt
            broken.ordering_key,
        )
        self.unreachable = _version("UNREACHABLE", "V1", now)
        self.purged = _version("PURGED", "V1", now)


@pytest.fixture(scope="module")
def letters(rig: DeadLetterRig) -> Letters:
    prepared = Letters()
    rig.dead_letter(
        [
            prepared.stale,
            prepared.only,
            prepared.versioned,
            prepared.shape,
            prepared.undecodable,
            prepared.unreachable,
            prepared.purged,
        ]
    )
    return prepared


def _stored(firestore_client: Any, message: OrderMessage) -> dict[str, Any] | None:
    return stored_document(firestore_client, message.business_unit_id, message.customer_order_id)


def test_replaying_a_stale_version_leaves_the_newer_one_stored(
    rig: DeadLetterRig,
    letters: Letters,
    stack: LocalStack,
    http: requests.Session,
    firestore_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    v1 = letters.stale
    answer = http.put(
        f"{stack.config.ingest_url}/business-units/{BU}/customer-orders/{v1.customer_order_id}",
        json=order_body(v1.customer_order_id, status="V2"),
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    v2_received_at = parse_timestamp(answer.json()["receivedAt"])
    assert v2_received_at > v1.received_at
    wait_for(lambda: (_stored(firestore_client, v1) or {}).get("receivedAt") == v2_received_at)

    code, out, err = run_cli(
        capsys, "replay", "--order", f"{BU}/{v1.customer_order_id}",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 0, err
    assert out.splitlines()[-1].startswith("replayed 1, skipped 0, failed 0 (to projects/")
    processed_so_far(stack, firestore_client, BU, v1.customer_order_id)
    stored = _stored(firestore_client, v1)
    assert stored is not None
    assert stored["status"] == "V2"
    assert stored["receivedAt"] == v2_received_at
    assert in_queue(rig, v1.customer_order_id) == []


def test_replaying_with_nothing_newer_stores_the_dead_lettered_version(
    rig: DeadLetterRig,
    letters: Letters,
    firestore_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    v1 = letters.only
    assert _stored(firestore_client, v1) is None

    code, out, err = run_cli(
        capsys, "replay", "--order", f"{BU}/{v1.customer_order_id}",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 0, err
    assert "replayed 1, skipped 0, failed 0" in out
    stored = wait_for(lambda: _stored(firestore_client, v1))
    assert stored["body"] == v1.body
    assert stored["receivedAt"] == v1.received_at
    assert in_queue(rig, v1.customer_order_id) == []


def test_a_replayed_versioned_message_keeps_its_version_and_correlation_id(
    rig: DeadLetterRig,
    letters: Letters,
    stack: LocalStack,
    http: requests.Session,
    firestore_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    v7 = letters.versioned
    # Meanwhile the OMS sent version 6 live: received later, but an older version.
    live = http.put(
        f"{stack.config.ingest_url}/business-units/{BU}/customer-orders/{v7.customer_order_id}",
        json=order_body(v7.customer_order_id, status="V6"),
        headers={"Source-Version": "6"},
        timeout=10,
    )
    assert live.status_code == 202, live.text
    wait_for(lambda: (_stored(firestore_client, v7) or {}).get("status") == "V6")

    code, out, err = run_cli(
        capsys, "replay", "--order", f"{BU}/{v7.customer_order_id}",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 0, err
    assert "replayed 1, skipped 0, failed 0" in out
    # Version 7 wins although it was received a minute before version 6.
    stored = wait_for(
        lambda: (
            (_stored(firestore_client, v7) or {}).get("status") == "V7"
            and _stored(firestore_client, v7)
        )
    )
    assert stored["sourceVersion"] == 7
    assert stored["receivedAt"] == v7.received_at
    assert stored["correlationId"] == "oms-replayed-7"


def test_the_replayed_message_is_the_original_without_bookkeeping_and_dry_run_changes_nothing(
    rig: DeadLetterRig, letters: Letters, stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"dlq-test-replayed-{uuid.uuid4().hex[:10]}"
    create_topic(stack, target)
    create_pull_subscription(stack, target, target)
    argv = [
        "replay", "--order", f"{BU}/SHAPE", "--order", f"{BU}/BROKEN", "--topic", target,
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    ]  # fmt: skip

    code, out, err = run_cli(capsys, *argv, "--dry-run")
    assert code == 0, err
    assert (
        f"would replay {BU}/SHAPE receivedAt={format_timestamp(letters.shape.received_at)}" in out
    )
    assert f"would skip   {BU}/BROKEN receivedAt=-" in out
    assert out.splitlines()[-1] == "dry run: would replay 1, skip 1; nothing was changed"
    assert pull_all(stack, target, settle=0.5) == []
    assert len(in_queue(rig, "SHAPE")) == len(in_queue(rig, "BROKEN")) == 1

    before = datetime.now(UTC)
    code, out, err = run_cli(capsys, *argv)

    assert code == 0, err
    assert "skipped  BU-REPLAY/BROKEN receivedAt=-" in out
    assert out.splitlines()[-1].startswith("replayed 1, skipped 1, failed 0")
    [replayed] = pull_all(stack, target, settle=0.5)
    assert base64.b64decode(replayed["data"]) == letters.shape.data
    assert replayed["orderingKey"] == f"{BU}/SHAPE"
    attributes = dict(replayed["attributes"])
    replayed_at = parse_timestamp(attributes.pop("replayedAt"))
    assert before <= replayed_at <= datetime.now(UTC)
    assert attributes == letters.shape.attributes
    assert in_queue(rig, "SHAPE") == []
    assert len(in_queue(rig, "BROKEN")) == 1


def test_a_replay_that_cannot_publish_leaves_the_message_in_the_queue_and_fails(
    rig: DeadLetterRig, letters: Letters, capsys: pytest.CaptureFixture[str]
) -> None:
    [before] = in_queue(rig, "UNREACHABLE")

    code, out, err = run_cli(
        capsys, "replay", "--order", f"{BU}/UNREACHABLE", "--topic", f"no-such-{uuid.uuid4().hex}",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 1, err
    assert f"failed   {BU}/UNREACHABLE" in out
    assert "NotFound" in out
    assert out.splitlines()[-1].startswith("replayed 0, skipped 0, failed 1")
    # Released at once, not left to a lease running out.
    [after] = in_queue(rig, "UNREACHABLE")
    assert after["messageId"] == before["messageId"]


class _Terminal:
    """A stdin that claims to be a terminal and answers the prompt."""

    def __init__(self, answer: str) -> None:
        self._answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self._answer


def test_purge_without_yes_on_a_non_interactive_stdin_drops_nothing(
    rig: DeadLetterRig,
    letters: Letters,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["purge", "--order", f"{BU}/PURGED", "--subscription", rig.dead_letter_subscription]
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))

    code, out, err = run_cli(capsys, *argv, "--settle", SETTLE)

    assert code == 2
    assert out == ""
    assert err == (
        "orders-dlq: error: refusing to drop 1 message(s) without --yes: "
        "stdin is not a terminal to confirm on\n"
    )
    assert len(in_queue(rig, "PURGED")) == 1

    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = run_cli(capsys, *argv, "--settle", SETTLE)
    assert code == 1
    assert out == "nothing dropped\n"
    assert "Drop these 1 message(s) for good? [y/N]" in err
    assert len(in_queue(rig, "PURGED")) == 1


def test_purge_with_yes_drops_and_prints_what_it_dropped(
    rig: DeadLetterRig, letters: Letters, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "purge", "--yes", "--order", f"{BU}/PURGED",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 0, err
    received = format_timestamp(letters.purged.received_at)
    assert out.splitlines()[0].startswith(f"dropped  {BU}/PURGED receivedAt={received} message ")
    assert out.splitlines()[-1] == "dropped 1, failed 0"
    assert in_queue(rig, "PURGED") == []
    assert attributes_of(in_queue(rig, "UNREACHABLE"))  # others untouched
