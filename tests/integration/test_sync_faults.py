"""orders-sync rides out a Pub/Sub outage (the ingest function answering 503).

On its own stack: stopping the session stack's emulator would break other tests.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.tools.devstack import LocalStack, StackConfig
from tests.integration.sync_support import (
    ORDERS_SYNC,
    Run,
    checkpoint_events,
    orders_sync,
    write_export,
)
from tests.support import unique_id, wait_for

pytestmark = pytest.mark.integration

ORDERS = 60
OUTAGE_SECONDS = 6.0


@pytest.fixture(scope="module")
def faulty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig.on_free_ports(
        project_id="demo-sync-faults",
        function_env={"PUBLISH_TIMEOUT_SECONDS": "2", "RETRY_AFTER_SECONDS": "1"},
        log_dir=tmp_path_factory.mktemp("faulty-stack-logs"),
    )
    with LocalStack(config) as stack:
        yield stack


def test_push_retries_through_a_pubsub_outage_and_finishes(
    faulty_stack: LocalStack, tmp_path: Path
) -> None:
    business_unit_id = unique_id("BU")
    export = tmp_path / "export.ndjson"
    write_export(export, business_unit_id, ORDERS)
    checkpoint = tmp_path / "cp"
    url = faulty_stack.config.ingest_url

    faulty_stack.stop_emulator("pubsub-emulator")
    push = subprocess.Popen(
        [
            ORDERS_SYNC, "push", str(export), "--url", url, "--concurrency", "4",
            "--retry-for", "120", "--checkpoint", str(checkpoint), "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(checkpoint_events(checkpoint, "sending")) >= 4, timeout=60)
        time.sleep(OUTAGE_SECONDS)
        # Retrying all along, nothing accepted while Pub/Sub is down.
        assert push.poll() is None
        assert checkpoint_events(checkpoint, "accepted") == []
        # A restarted emulator has no topics or subscriptions, and a publish landing
        # between the topic's and the subscription's creation would be dropped: the
        # ingest function is down meanwhile (the tool retries refused connections).
        faulty_stack.stop_function("ingest")
        faulty_stack.start_pubsub_emulator()
        faulty_stack.create_resources()
        faulty_stack.start_function("ingest")
        out, err = push.communicate(timeout=120)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
    pushed = Run(push.returncode, out, err, 0.0)

    assert pushed.code == 0, out + err
    counts = pushed.counts()
    assert (counts["accepted"], counts["failed"], counts["rejected"]) == (ORDERS, 0, 0)
    verified = orders_sync("verify", str(export), "--url", url, "--settle", "30")
    assert verified.code == 0, verified.out + verified.err
    assert verified.counts()["matches"] == ORDERS
