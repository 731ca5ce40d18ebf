"""orders-dlq list and show on a message the emulator really dead-lettered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.domain.messages import OrderMessage
from shared.domain.timestamps import format_timestamp
from shared.tools.devstack import LocalStack
from tests.dlq.rig import DeadLetterRig, peek, run_cli
from tests.support import order_message

pytestmark = pytest.mark.integration

BUSINESS_UNIT = "BU-INSPECT"
SETTLE = "0.5"


@pytest.fixture(scope="module")
def letter(rig: DeadLetterRig) -> OrderMessage:
    received_at = datetime.now(UTC) - timedelta(minutes=3)
    message = order_message(BUSINESS_UNIT, "CO-1", received_at, status="V1")
    rig.dead_letter([message])
    return message


def test_list_shows_order_received_at_deliveries_source_and_age(
    rig: DeadLetterRig, letter: OrderMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "list", "--subscription", rig.dead_letter_subscription, "--settle", SETTLE
    )

    assert code == 0, err
    header, line = out.splitlines()
    assert header.split()[:3] == ["BUSINESS", "UNIT", "ORDER"]
    fields = line.split()
    assert fields[:5] == [
        BUSINESS_UNIT,
        "CO-1",
        format_timestamp(letter.received_at),
        "5",
        rig.source_subscription,
    ]
    assert fields[5].endswith("s")  # dead-lettered seconds ago
    assert err == f"1 of 1 dead-lettered message(s) in {rig.dead_letter_subscription}\n"


def test_list_json_for_machines_and_nothing_is_consumed(
    rig: DeadLetterRig, letter: OrderMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "list", "--json", "--subscription", rig.dead_letter_subscription, "--settle", SETTLE
    )

    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["businessUnitId"] == BUSINESS_UNIT
    assert entry["customerOrderId"] == "CO-1"
    assert entry["receivedAt"] == format_timestamp(letter.received_at)
    assert entry["deliveryCount"] == 5
    assert entry["sourceSubscription"] == rig.source_subscription
    assert entry["orderingKey"] == f"{BUSINESS_UNIT}/CO-1"
    assert 0 <= entry["ageSeconds"] < 120
    assert entry["problem"] is None
    [still_there] = peek(rig.stack, rig.dead_letter_subscription)
    assert still_there["messageId"] == entry["messageId"]


def test_show_decodes_the_message_by_order_and_by_message_id(
    rig: DeadLetterRig, letter: OrderMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--json", "--subscription", rig.dead_letter_subscription, "--settle", SETTLE]

    code, out, err = run_cli(capsys, "show", f"{BUSINESS_UNIT}/CO-1", *common)
    assert code == 0, err
    [by_order] = json.loads(out)
    code, out, err = run_cli(capsys, "show", by_order["messageId"], *common)
    assert code == 0, err
    [by_id] = json.loads(out)

    assert by_id == {**by_order, "ageSeconds": by_id["ageSeconds"]}
    assert by_order["body"] == json.loads(letter.body)
    assert by_order["attributes"] == {
        **letter.attributes,
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        "CloudPubSubDeadLetterSourceSubscription": rig.source_subscription,
        "CloudPubSubDeadLetterSourceSubscriptionProject": rig.stack.config.project_id,
        "CloudPubSubDeadLetterSourceTopicPublishTime": by_order["attributes"][
            "CloudPubSubDeadLetterSourceTopicPublishTime"
        ],
    }


def test_show_as_text_prints_attributes_and_the_body(
    rig: DeadLetterRig, letter: OrderMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys,
        "show",
        f"{BUSINESS_UNIT}/CO-1",
        "--subscription",
        rig.dead_letter_subscription,
        "--settle",
        SETTLE,
    )

    assert code == 0, err
    assert f"  receivedAt: {format_timestamp(letter.received_at)}" in out.splitlines()
    assert '    "status": "V1",' in out.splitlines()


@pytest.mark.parametrize(
    "argv",
    [
        ["show", f"{BUSINESS_UNIT}/NO-SUCH-ORDER"],
        ["show", "999999999"],
        ["list", "--order", f"{BUSINESS_UNIT}/NO-SUCH-ORDER"],
        ["replay", "--order", f"{BUSINESS_UNIT}/CO-1", "--order", f"{BUSINESS_UNIT}/NO-SUCH"],
        ["purge", "--yes", "--order", f"{BUSINESS_UNIT}/NO-SUCH-ORDER"],
    ],
)
def test_an_unknown_order_or_message_is_an_error_and_changes_nothing(
    argv: list[str], rig: DeadLetterRig, letter: OrderMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, *argv, "--subscription", rig.dead_letter_subscription, "--settle", SETTLE
    )

    assert code == 2
    assert out == ""
    assert err.startswith("orders-dlq: error: no dead-lettered message for ")
    assert err.count("\n") == 1
    assert len(peek(rig.stack, rig.dead_letter_subscription)) == 1


def test_an_unknown_subscription_is_an_error(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "list", "--subscription", "no-such-dead-letters")

    assert code == 2
    assert err.startswith("orders-dlq: error: subscription projects/")
    assert "no-such-dead-letters does not exist in the Pub/Sub emulator at" in err


def test_the_installed_console_script_lists_as_json(
    rig: DeadLetterRig, letter: OrderMessage
) -> None:
    script = Path(sys.executable).parent / "orders-dlq"

    completed = subprocess.run(
        [str(script), "list", "--json", "--subscription", rig.dead_letter_subscription],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    [entry] = json.loads(completed.stdout)
    assert (entry["businessUnitId"], entry["customerOrderId"]) == (BUSINESS_UNIT, "CO-1")


def test_show_says_why_a_message_can_never_be_stored(
    rig: DeadLetterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Runs last in this module: it adds a dead letter the listings above do not expect.
    # Only a hand-made message can be this large; ingest refuses such a body with 413.
    body = b'{"customerOrder": {"customerOrderId": "HUGE", "pad": "%s"}}' % (b"x" * 1_048_500)
    huge = OrderMessage.accepted(
        BUSINESS_UNIT, "HUGE", datetime.now(UTC), body, customer_id="C", status="S"
    )
    rig.dead_letter([huge])

    code, out, err = run_cli(
        capsys, "show", f"{BUSINESS_UNIT}/HUGE",
        "--subscription", rig.dead_letter_subscription, "--settle", SETTLE,
    )  # fmt: skip

    assert code == 0, err
    assert (
        f"replay would be skipped: cannot be stored: the body is {len(body)} bytes, over "
        "Firestore's 1048487 bytes for one field value"
    ) in out.splitlines()
