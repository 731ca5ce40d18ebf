"""orders-sync push and verify against the real local stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.cloud import firestore

from tests.integration.sync_support import (
    expected_orders,
    export_line,
    orders_sync,
    stored_orders,
    write_export,
)
from tests.support import unique_id, wait_for

pytestmark = pytest.mark.integration

ORDERS = 600


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[figure] {line}")


def test_six_hundred_orders_are_pushed_stored_and_verified(
    ingest_url: str,
    firestore_client: firestore.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    business_unit_id = unique_id("BU")
    export = tmp_path / "export.ndjson"
    ids = write_export(export, business_unit_id, ORDERS)

    pushed = orders_sync(
        "push", str(export), "--url", ingest_url, "--concurrency", "16",
        "--checkpoint", str(tmp_path / "cp"),
    )  # fmt: skip

    assert pushed.code == 0, pushed.err
    assert pushed.counts() == {
        "accepted": ORDERS, "rejected": 0, "failed": 0, "sent": ORDERS,
        "skipped": 0, "superseded": 0, "recovered": 0, "left": 0,
    }  # fmt: skip
    report(capsys, f"orders-sync push: {ORDERS} orders in {pushed.seconds:.1f} s "
           f"({ORDERS / pushed.seconds:.0f}/s, concurrency 16, process start included)")  # fmt: skip
    expected = expected_orders(business_unit_id, ids)
    wait_for(
        lambda: len(stored_orders(firestore_client, business_unit_id)) == ORDERS,
        timeout=150,
        interval=1.0,
    )
    assert stored_orders(firestore_client, business_unit_id) == expected

    again = orders_sync(
        "push", str(export), "--url", ingest_url, "--checkpoint", str(tmp_path / "cp")
    )
    assert again.code == 0, again.err
    assert (again.counts()["skipped"], again.counts()["sent"]) == (ORDERS, 0)

    verified = orders_sync("verify", str(export), "--url", ingest_url, "--concurrency", "16")
    assert verified.code == 0, verified.out + verified.err
    assert verified.counts()["matches"] == ORDERS
    report(capsys, f"orders-sync verify: {ORDERS} orders in {verified.seconds:.1f} s")


def test_bad_lines_are_rejected_with_reasons_and_the_good_ones_stored(
    ingest_url: str, firestore_client: firestore.Client, tmp_path: Path
) -> None:
    business_unit_id = unique_id("BU")
    bad_lines = {
        # line number -> (text, problem type it must be reported with)
        7: ("{this is not json", "malformed-json"),
        23: (json.dumps({"businessUnitId": business_unit_id}), "validation-failed"),
        41: (
            json.dumps({"businessUnitId": 42, "customerOrder": {"customerOrderId": "CO-x"}}),
            "validation-failed",
        ),
        58: (
            json.dumps({"businessUnitId": business_unit_id, "customerOrder": {"status": "NEW"}}),
            "validation-failed",
        ),
        77: (export_line(business_unit_id, "CO-bad-qty", items="two"), "validation-failed"),
    }
    lines, good = [], []
    for number in range(1, 101):
        if number in bad_lines:
            lines.append(bad_lines[number][0])
        else:
            good.append(f"CO-{number:03d}")
            lines.append(export_line(business_unit_id, good[-1]))
    export = tmp_path / "export.ndjson"
    export.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.ndjson"

    pushed = orders_sync(
        "push", str(export), "--url", ingest_url, "--rejects", str(rejects),
        "--checkpoint", str(tmp_path / "cp"),
    )  # fmt: skip

    assert pushed.code == 1
    assert "Traceback" not in pushed.err
    counts = pushed.counts()
    assert (counts["accepted"], counts["rejected"], counts["failed"]) == (95, 5, 0)
    reported = {entry["line"]: entry for entry in map(json.loads, rejects.read_text().splitlines())}
    assert sorted(reported) == sorted(bad_lines)
    for number, (text, problem_type) in bad_lines.items():
        assert reported[number]["record"] == text
        assert reported[number]["outcome"] == "rejected"
        assert reported[number]["problem"]["type"].endswith(problem_type)
    # The schema violation came from the service itself, with its field pointer.
    assert reported[77]["status"] == 422
    assert any(
        e["pointer"].startswith("/customerOrder/items") for e in reported[77]["problem"]["errors"]
    )
    wait_for(
        lambda: sorted(stored_orders(firestore_client, business_unit_id)) == sorted(good),
        timeout=60,
        interval=0.5,
    )
