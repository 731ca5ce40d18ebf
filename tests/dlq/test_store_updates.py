"""orders-dlq on dead store updates, on the session's Pub/Sub emulator.

The module's failing source subscription stands for the processor's store-updates
subscription (named to orders-dlq with --store-updates-subscription): what it dead-letters
came from the store-updates topic. The store update of this release's format fixture goes
back to the store-updates topic; an OMS version published there (what a forging pos
identity could do) is refused and stays in the queue, and nothing reaches the orders topic.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.tools.devstack import LocalStack
from tests.dlq.rig import DeadLetterRig, RawMessage, in_queue, run_cli
from tests.support import FORMATS, create_pull_subscription, create_topic, order_message, pull_all

pytestmark = pytest.mark.integration

SETTLE = "0.5"
FIXTURE: dict[str, Any] = json.loads((FORMATS / "store-update-message.json").read_text())
UPDATE_ID = FIXTURE["attributes"]["updateId"]


@dataclass(frozen=True)
class Targets:
    """Stand-ins for the two topics replay chooses between, each with a pull subscription."""

    orders: str
    store_updates: str


@pytest.fixture(scope="module")
def targets(stack: LocalStack) -> Targets:
    suffix = uuid.uuid4().hex[:10]
    made = Targets(f"dlq-test-orders-{suffix}", f"dlq-test-store-updates-{suffix}")
    for topic in (made.orders, made.store_updates):
        create_topic(stack, topic)
        create_pull_subscription(stack, topic, topic)
    return made


@pytest.fixture(scope="module")
def letters(rig: DeadLetterRig) -> None:
    forged = order_message("BU1", "CO-FORGED", datetime.now(UTC))
    rig.dead_letter(
        [
            RawMessage(
                FIXTURE["data"].encode(), dict(FIXTURE["attributes"]), FIXTURE["orderingKey"]
            ),
            RawMessage(forged.data, dict(forged.attributes), forged.ordering_key),
        ]
    )


def _queue_args(rig: DeadLetterRig) -> list[str]:
    return [
        "--subscription", rig.dead_letter_subscription,
        "--store-updates-subscription", rig.source_subscription,
        "--settle", SETTLE,
    ]  # fmt: skip


def _replay_args(rig: DeadLetterRig, targets: Targets) -> list[str]:
    return [
        "replay", *_queue_args(rig),
        "--topic", targets.orders, "--store-updates-topic", targets.store_updates,
    ]  # fmt: skip


def test_show_and_list_render_the_dead_store_update(
    rig: DeadLetterRig, letters: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "show", *_queue_args(rig), "BU1/CO-FORMAT-2")

    assert code == 0, err
    assert "from the store-updates topic" in out
    assert f"store update: pickup updateId={UPDATE_ID}" in out
    assert "  items: ITEM-1 x 1, ITEM-2 x 0.5" in out
    assert "  decided on: sourceVersion=17 " in out
    assert "replay would be skipped" not in out

    code, out, err = run_cli(capsys, "list", "--json", *_queue_args(rig))
    assert code == 0, err
    by_order = {letter["customerOrderId"]: letter for letter in json.loads(out)}
    assert by_order["CO-FORMAT-2"]["kind"] == "store-update"
    assert by_order["CO-FORMAT-2"]["source"] == "store-updates"
    assert by_order["CO-FORMAT-2"]["problem"] is None
    assert by_order["CO-FORGED"]["source"] == "store-updates"
    assert by_order["CO-FORGED"]["problem"].startswith(
        "undecodable: the store-updates topic carries only"
    )


def test_without_naming_the_store_updates_subscription_a_store_update_waits_and_says_why(
    rig: DeadLetterRig, letters: None, targets: Targets, capsys: pytest.CaptureFixture[str]
) -> None:
    """Taken for the orders topic's, the subscription's store update is refused as the
    processor refuses a store update there; the report names the option."""
    argv = [
        "replay", "--order", "BU1/CO-FORMAT-2",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
        "--topic", targets.orders, "--store-updates-topic", targets.store_updates,
    ]  # fmt: skip

    code, out, err = run_cli(capsys, *argv)

    assert code == 0, err
    assert "skipped  BU1/CO-FORMAT-2 receivedAt=- message " in out
    assert "the orders topic carries orders" in out
    assert f"--store-updates-subscription {rig.source_subscription}" in out
    assert out.splitlines()[-1].startswith("replayed 0, skipped 1, failed 0")
    assert pull_all(rig.stack, targets.orders, settle=0.5) == []
    assert pull_all(rig.stack, targets.store_updates, settle=0.5) == []
    assert len(in_queue(rig, "CO-FORMAT-2")) == 1


def test_replay_sends_the_store_update_to_the_store_updates_topic_and_never_the_forged_version(
    rig: DeadLetterRig, letters: None, targets: Targets, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _replay_args(rig, targets)

    code, out, err = run_cli(capsys, *argv, "--dry-run")
    assert code == 0, err
    assert (
        f"would replay BU1/CO-FORMAT-2 store update pickup updateId={UPDATE_ID} "
        "recordedAt=2026-12-07T10:31:12.204311Z message " in out
    )
    assert f"to projects/{rig.stack.config.project_id}/topics/{targets.store_updates}" in out
    assert "would skip   BU1/CO-FORGED receivedAt=" in out
    assert out.splitlines()[-1] == "dry run: would replay 1, skip 1; nothing was changed"

    code, out, err = run_cli(capsys, *argv)

    assert code == 0, err
    assert out.splitlines()[-1].startswith("replayed 1, skipped 1, failed 0")
    [replayed] = pull_all(rig.stack, targets.store_updates, settle=0.5)
    assert base64.b64decode(replayed["data"]) == FIXTURE["data"].encode()
    assert replayed["orderingKey"] == FIXTURE["orderingKey"]
    attributes = dict(replayed["attributes"])
    assert attributes.pop("replayedAt")
    assert attributes == FIXTURE["attributes"]
    # The OMS version the store-updates topic carried reaches no topic, and stays queued.
    assert pull_all(rig.stack, targets.orders, settle=0.5) == []
    assert in_queue(rig, "CO-FORMAT-2") == []
    assert len(in_queue(rig, "CO-FORGED")) == 1
