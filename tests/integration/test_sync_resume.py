"""A push killed halfway and run again: every order stored, none published twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from google.cloud import firestore

from shared.tools.devstack import LocalStack, http_request
from tests.integration.sync_support import (
    ORDERS_SYNC,
    checkpoint_events,
    expected_orders,
    orders_sync,
    stored_orders,
    write_export,
)
from tests.support import create_pull_subscription, pull_all, unique_id, wait_for

pytestmark = pytest.mark.integration

ORDERS = 400


def test_a_killed_push_resumes_without_sending_anything_twice(
    stack: LocalStack,
    firestore_client: firestore.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    business_unit_id = unique_id("BU")
    tap = unique_id("sync-tap")
    create_pull_subscription(stack, stack.config.orders_topic, tap)
    export = tmp_path / "export.ndjson"
    ids = write_export(export, business_unit_id, ORDERS)
    checkpoint = tmp_path / "cp"
    argv = [
        "push", str(export), "--url", stack.config.ingest_url, "--concurrency", "8",
        "--checkpoint", str(checkpoint),
    ]  # fmt: skip

    first = subprocess.Popen(
        [ORDERS_SYNC, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: len(checkpoint_events(checkpoint, "accepted")) >= ORDERS // 3, timeout=60)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    accepted_before_kill = len(checkpoint_events(checkpoint, "accepted"))
    assert first.returncode == -signal.SIGKILL
    assert accepted_before_kill < ORDERS

    resumed = orders_sync(*argv)

    assert resumed.code == 0, resumed.out + resumed.err
    counts = resumed.counts()
    assert counts["skipped"] == accepted_before_kill
    assert counts["skipped"] + counts["recovered"] + counts["accepted"] == ORDERS
    assert (counts["rejected"], counts["failed"], counts["left"]) == (0, 0, 0)
    with capsys.disabled():
        print(
            f"\n[figure] killed after {accepted_before_kill} accepted; resumed run: "
            f"{counts['sent']} sent, {counts['recovered']} found stored, {resumed.seconds:.1f} s"
        )

    try:
        messages = [
            message
            for message in pull_all(stack, tap, settle=2.0)
            if message.get("attributes", {}).get("businessUnitId") == business_unit_id
        ]
    finally:
        # Left in place it would keep a copy of every later test's messages.
        http_request(
            "DELETE",
            f"http://{stack.config.pubsub_host}/v1/projects/{stack.config.project_id}"
            f"/subscriptions/{tap}",
        )
    published: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        published[message["attributes"]["customerOrderId"]].add(message["messageId"])
    twice = {order_id: ids for order_id, ids in published.items() if len(ids) > 1}
    assert twice == {}
    assert sorted(published) == ids

    expected = expected_orders(business_unit_id, ids)
    wait_for(
        lambda: stored_orders(firestore_client, business_unit_id) == expected,
        timeout=120,
        interval=1.0,
    )


def test_ctrl_c_stops_cleanly_and_the_rerun_sends_the_rest(
    stack: LocalStack, firestore_client: firestore.Client, tmp_path: Path
) -> None:
    business_unit_id = unique_id("BU")
    orders = 300
    export = tmp_path / "export.ndjson"
    ids = write_export(export, business_unit_id, orders)
    checkpoint = tmp_path / "cp"
    argv = [
        "push", str(export), "--url", stack.config.ingest_url, "--rate", "60",
        "--checkpoint", str(checkpoint),
    ]  # fmt: skip

    first = subprocess.Popen(
        [ORDERS_SYNC, *argv, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(checkpoint_events(checkpoint, "accepted")) >= 30, timeout=60)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert first.returncode == 130, out + err
    assert "stopping after the requests in flight" in err
    assert "Traceback" not in err
    accepted = checkpoint_events(checkpoint, "accepted")
    assert 30 <= len(accepted) < orders
    assert re.search(rf"^  accepted +{len(accepted)}$", out, re.MULTILINE)
    # Every request in flight was finished: nothing is left in doubt.
    sending = {entry["seq"] for entry in checkpoint_events(checkpoint, "sending")}
    settled = {
        entry["seq"]
        for event in ("accepted", "rejected", "failed")
        for entry in checkpoint_events(checkpoint, event)
    }
    assert sending <= settled

    resumed = orders_sync(*argv)

    assert resumed.code == 0, resumed.out + resumed.err
    assert resumed.counts()["skipped"] == len(accepted)
    assert resumed.counts()["recovered"] == 0
    assert resumed.counts()["accepted"] == orders - len(accepted)
    expected = expected_orders(business_unit_id, ids)
    wait_for(
        lambda: stored_orders(firestore_client, business_unit_id) == expected,
        timeout=60,
        interval=0.5,
    )
