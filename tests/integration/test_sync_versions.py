"""A versioned migration beside live traffic, on the real stack: newer orders stay as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from google.cloud import firestore

from shared.domain.addresses import order_location
from shared.tools.devstack import LocalStack
from tests.integration.sync_support import orders_sync, versioned_export_line
from tests.support import order_body, processed_so_far, unique_id, wait_for

pytestmark = pytest.mark.integration


def stored_at(http: requests.Session, url: str, version: str) -> requests.Response | None:
    """The GET answer once the order is stored with ``version``, else ``None``."""
    answer = http.get(url, timeout=30)
    if answer.status_code == 200 and answer.headers.get("Source-Version") == version:
        return answer
    return None


def test_an_older_export_leaves_a_live_update_as_it_is_and_says_so(
    http: requests.Session,
    ingest_url: str,
    stack: LocalStack,
    firestore_client: firestore.Client,
    tmp_path: Path,
) -> None:
    business_unit_id = unique_id("BU")
    live_id, new_id = unique_id(), unique_id()
    live_url = ingest_url + order_location(business_unit_id, live_id)
    new_url = ingest_url + order_location(business_unit_id, new_id)
    live = http.put(
        live_url, json=order_body(live_id, status="LIVE"), headers={"Source-Version": "5"},
        timeout=30,
    )  # fmt: skip
    assert live.status_code == 202, live.text
    before = wait_for(lambda: stored_at(http, live_url, "5"), timeout=60, interval=0.2)
    export = tmp_path / "export.ndjson"
    export.write_text(
        versioned_export_line(business_unit_id, live_id, 3, status="EXPORTED") + "\n"
        + versioned_export_line(business_unit_id, new_id, 1, status="EXPORTED") + "\n"
    )  # fmt: skip

    pushed = orders_sync(
        "push", str(export), "--url", ingest_url, "--checkpoint", str(tmp_path / "cp")
    )

    assert pushed.code == 0, pushed.out + pushed.err
    counts = pushed.counts()
    assert (counts["newer"], counts["sent"], counts["accepted"]) == (1, 1, 1), pushed.out
    assert "not sent: the store holds this version or a newer one" in pushed.out
    wait_for(lambda: stored_at(http, new_url, "1"), timeout=60, interval=0.2)
    processed_so_far(stack, firestore_client, business_unit_id, live_id)
    after = http.get(live_url, timeout=30)
    assert (after.headers["Source-Version"], after.content) == ("5", before.content)
    assert after.headers["ETag"] == before.headers["ETag"]

    verified = orders_sync("verify", str(export), "--url", ingest_url)

    assert verified.code == 0, verified.out + verified.err
    assert (verified.counts()["newer"], verified.counts()["matches"]) == (1, 1)
    assert verified.counts()["differs"] == 0
    assert f"{business_unit_id}/{live_id}" in next(
        text for text in verified.out.splitlines() if text.startswith("newer ")
    )
    assert "stored at version 5, the export's is 3" in verified.out


def test_without_the_check_the_processor_still_keeps_the_higher_version(
    http: requests.Session,
    ingest_url: str,
    stack: LocalStack,
    firestore_client: firestore.Client,
    tmp_path: Path,
) -> None:
    business_unit_id = unique_id("BU")
    order_id = unique_id()
    url = ingest_url + order_location(business_unit_id, order_id)
    live = order_body(order_id, status="LIVE")
    assert http.put(url, json=live, headers={"Source-Version": "5"}, timeout=30).status_code == 202
    first = wait_for(lambda: stored_at(http, url, "5"), timeout=60, interval=0.2)
    export = tmp_path / "export.ndjson"
    export.write_text(
        versioned_export_line(business_unit_id, order_id, 3, status="EXPORTED") + "\n"
    )

    pushed = orders_sync(
        "push", str(export), "--url", ingest_url, "--checkpoint", str(tmp_path / "cp"),
        "--no-version-check",
    )  # fmt: skip
    assert pushed.code == 0, pushed.out + pushed.err
    assert pushed.counts()["accepted"] == 1
    processed_so_far(stack, firestore_client, business_unit_id, order_id)

    stored = http.get(url, timeout=30)
    assert (stored.headers["Source-Version"], stored.content) == ("5", first.content)
    assert stored.headers["Received-At"] == first.headers["Received-At"]
