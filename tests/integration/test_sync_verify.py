"""orders-sync verify on the real stack once a store recorded something beside the OMS's body.

GET then answers the body with the store's record in it, and its ETag is that view's
digest; ``OMS-Body-SHA256`` stays the digest of the body the OMS sent, so the export
still verifies as equal to what is stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from shared.domain.addresses import order_location, ready_location
from shared.tools.devstack import LocalStack
from shared.tools.sync.client import order_bytes
from tests.integration.sync_support import export_line, orders_sync
from tests.support import order_body, unique_id, wait_for

pytestmark = pytest.mark.integration


def test_an_order_a_store_readied_still_verifies_equal_and_a_changed_one_differs(
    stack: LocalStack, http: requests.Session, tmp_path: Path
) -> None:
    business_unit_id = unique_id("BU")
    readied, changed = unique_id("CO"), unique_id("CO")
    export = tmp_path / "export.ndjson"
    export.write_text(
        export_line(business_unit_id, readied)
        + "\n"
        + export_line(business_unit_id, changed)
        + "\n"
    )
    pushed = orders_sync(
        "push", str(export), "--url", stack.config.ingest_url,
        "--checkpoint", str(tmp_path / "cp"),
    )  # fmt: skip
    assert pushed.code == 0, pushed.out + pushed.err
    url = stack.config.ingest_url + order_location(business_unit_id, readied)
    wait_for(lambda: http.get(url, timeout=10).status_code == 200)

    # The store readies the order's items: its record is shown beside the OMS's members.
    answer = http.post(
        stack.config.pos_url + ready_location(business_unit_id, readied),
        json={"updateId": unique_id("ready")},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    got = http.get(url, timeout=10)
    sent = json.loads(export.read_text().splitlines()[0])["customerOrder"]
    oms_digest = hashlib.sha256(order_bytes(sent)).hexdigest()
    assert got.headers["OMS-Body-SHA256"] == oms_digest
    assert got.headers["ETag"] == f'"{hashlib.sha256(got.content).hexdigest()}"'
    assert got.headers["ETag"] != f'"{oms_digest}"'
    assert got.json()["customerOrder"]["fulfillments"][0]["status"]

    # The other order is changed behind the export's back (another PUT, another status).
    put = http.put(
        stack.config.ingest_url + order_location(business_unit_id, changed),
        json=order_body(changed, status="SHIPPED"),
        timeout=10,
    )
    assert put.status_code == 202, put.text
    changed_url = stack.config.ingest_url + order_location(business_unit_id, changed)
    wait_for(
        lambda: http.get(changed_url, timeout=10).json()["customerOrder"]["status"] == "SHIPPED"
    )

    verified = orders_sync("verify", str(export), "--url", stack.config.ingest_url, "--settle", "0")

    assert verified.code == 1, verified.out + verified.err
    assert verified.counts()["matches"] == 1
    assert verified.counts()["differs"] == 1
    assert f"{business_unit_id}/{changed}" in verified.out
    assert "first difference at /status" in verified.out
