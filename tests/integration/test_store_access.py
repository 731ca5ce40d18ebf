"""Each store sees its own orders only, on the real emulators and the real pos function.

Callers hold ID tokens of the stack's own signer (``orders-dev-token``), verified by
the pos function as it verifies Google's, and grants given with ``orders-stores``.
The store updates' refusals (``:ready``, ``:pickup``) use the same helpers
(tests/access_support.py, ``pos_as``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from shared.domain.addresses import order_location, search_location
from shared.tools.dev_identity import new_private_key
from shared.tools.devstack import LocalStack
from tests.access_support import grant, revoke, token_for
from tests.logging_query import cloud_run_entry, compile_filter, extract
from tests.support import (
    SAMPLE_BODY,
    order_body,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)
from tests.terraform.observability import evaluate

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

# The service name terraform's filters read (function_name_prefix's default).
POS_SERVICE = "customer-orders-pos"
CUSTOMER = SAMPLE_BODY["customerOrder"]["customerId"]
SEARCH = {"customerId": CUSTOMER}
# The bound the revocation test runs with: short, so that the test is quick; the
# production 30 s is asserted in tests/unit/test_access.py with the same cache.
TEST_CACHE_SECONDS = 2.0


def put_order(
    http: requests.Session, stack: LocalStack, client: firestore.Client, business_unit_id: str
) -> str:
    order_id = unique_id("ACC")
    answer = http.put(
        stack.config.ingest_url + order_location(business_unit_id, order_id),
        json=order_body(order_id),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    wait_for(lambda: stored_document(client, business_unit_id, order_id))
    return order_id


class Stores:
    """Two stores, each with its identity and one order; a central POS; a stranger."""

    def __init__(self, stack: LocalStack, http: requests.Session, client: firestore.Client) -> None:
        tag = unique_id("S").lower()
        self.units = (f"BU-A-{tag}", f"BU-B-{tag}")
        self.identities = (f"store-a-{tag}@example.com", f"store-b-{tag}@example.com")
        self.central = f"central-{tag}@example.com"
        self.stranger = f"stranger-{tag}@example.com"
        for unit, identity in zip(self.units, self.identities, strict=True):
            grant(stack, identity, unit)
        grant(stack, self.central, everything=True)
        self.orders = tuple(put_order(http, stack, client, unit) for unit in self.units)


@pytest.fixture(scope="module")
def stores(stack: LocalStack, http: requests.Session, firestore_client: firestore.Client) -> Stores:
    return Stores(stack, http, firestore_client)


def get(session: requests.Session, base: str, unit: str, order_id: str) -> requests.Response:
    return session.get(base + order_location(unit, order_id), timeout=30)


def search(session: requests.Session, base: str, unit: str) -> requests.Response:
    return session.post(base + search_location(unit), json=SEARCH, timeout=30)


def assert_forbidden(answer: requests.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"].endswith(":forbidden")


def test_each_store_reads_and_searches_its_own_and_is_refused_the_others(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    base = stack.config.pos_url
    for mine, identity in enumerate(stores.identities):
        other = 1 - mine
        pos = pos_as(identity)
        own = get(pos, base, stores.units[mine], stores.orders[mine])
        assert own.status_code == 200, own.text
        assert own.json()["customerOrder"]["customerOrderId"] == stores.orders[mine]
        found = search(pos, base, stores.units[mine])
        assert found.status_code == 200, found.text
        assert stores.orders[mine] in [o["customerOrderId"] for o in found.json()["customerOrders"]]
        assert_forbidden(get(pos, base, stores.units[other], stores.orders[other]))
        # Alike for an id that does not exist there: the answer tells nothing about it.
        assert_forbidden(get(pos, base, stores.units[other], "CO-nonexistent"))
        assert_forbidden(search(pos, base, stores.units[other]))


def test_an_all_stores_identity_reads_and_searches_every_store(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    pos = pos_as(stores.central)
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert get(pos, stack.config.pos_url, unit, order_id).status_code == 200
        assert search(pos, stack.config.pos_url, unit).status_code == 200


def test_an_identity_without_grants_is_refused_everything(
    stack: LocalStack, stores: Stores, pos_as: Callable[[str], requests.Session]
) -> None:
    pos = pos_as(stores.stranger)
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert_forbidden(get(pos, stack.config.pos_url, unit, order_id))
        assert_forbidden(search(pos, stack.config.pos_url, unit))


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("signed by another key", "another_key"),
        ("expired", {"issued_at": time.time() - 7200}),
        ("for another audience", {"audience": "https://another-function.example.test"}),
    ],
)
def test_a_token_that_proves_nothing_is_401(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    case: str,
    changes: dict[str, object] | str,
) -> None:
    if changes == "another_key":
        changes = {"private_key": new_private_key()}
    assert isinstance(changes, dict)
    token = token_for(stack, stores.identities[0], **changes)
    answer = http.get(
        stack.config.pos_url + order_location(stores.units[0], stores.orders[0]),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["type"].endswith(":unauthenticated")


def test_without_a_token_the_local_stack_is_a_pos_of_every_store(
    stack: LocalStack, stores: Stores, http: requests.Session
) -> None:
    """The docs' curl examples: `make dev` and no token."""
    for unit, order_id in zip(stores.units, stores.orders, strict=True):
        assert get(http, stack.config.pos_url, unit, order_id).status_code == 200


def test_without_the_local_signer_a_request_without_a_token_is_401(
    stack: LocalStack, stores: Stores, http: requests.Session, tmp_path: Path
) -> None:
    """The pos function as deployed: no local signer, so no token is no caller."""
    log = tmp_path / "pos.log"
    with running_function(
        "pos", stack, log_path=log, POS_LOCAL_ISSUER="", POS_LOCAL_CERTS_URL=""
    ) as base:
        answer = get(http, base, stores.units[0], stores.orders[0])
        forged = http.get(
            base + order_location(stores.units[0], stores.orders[0]),
            headers={"Authorization": "Bearer e30.e30.SIGNATURE_REMOVED_BY_GOOGLE"},
            timeout=30,
        )
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert forged.status_code == 401
    assert "X-Serverless-Authorization" in forged.json()["detail"]
    lines = [line for line in log.read_text().splitlines() if "refused 401" in line]
    assert len(lines) == 2
    assert all("identity=unverified" in line for line in lines)


def test_refusals_are_counted_by_identity_from_the_lines_the_function_writes(
    stack: LocalStack, stores: Stores, tmp_path: Path
) -> None:
    """The pos function as on Cloud Run (structured lines); terraform's metric over them."""
    log = tmp_path / "pos.log"
    with running_function("pos", stack, log_path=log, K_SERVICE="set") as base:
        pos = requests.Session()
        pos.headers["Authorization"] = f"Bearer {token_for(stack, stores.identities[0])}"
        assert_forbidden(get(pos, base, stores.units[1], stores.orders[1]))
        assert_forbidden(search(pos, base, stores.units[1]))
        assert get(pos, base, stores.units[0], stores.orders[0]).status_code == 200
        forged = token_for(stack, stores.identities[1], private_key=new_private_key())
        refused = requests.get(
            base + order_location(stores.units[1], stores.orders[1]),
            headers={"Authorization": f"Bearer {forged}"},
            timeout=30,
        )
        assert refused.status_code == 401
    entries = [
        cloud_run_entry(line, POS_SERVICE)
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]
    metric = evaluate("local.counter_metrics.pos_refusals")
    selected = compile_filter(metric["filter"])
    labels = metric["labels"]
    counted = Counter(
        (extract(labels["identity"]["extractor"], e), extract(labels["status"]["extractor"], e))
        for e in entries
        if selected(e)
    )
    assert counted == {(stores.identities[0], "403"): 2, ("unverified", "401"): 1}


def test_a_revocation_takes_effect_within_the_bound(
    stack: LocalStack, stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = f"revoked-{unique_id('R').lower()}@example.com"
    unit, order_id = stores.units[0], stores.orders[0]
    grant(stack, identity, unit)
    with running_function("pos", stack, POS_GRANTS_CACHE_SECONDS=str(TEST_CACHE_SECONDS)) as base:
        pos = requests.Session()
        pos.headers["Authorization"] = f"Bearer {token_for(stack, identity)}"
        # Read once: the grant is now in the function's cache.
        assert get(pos, base, unit, order_id).status_code == 200
        revoke(stack, identity)
        revoked_at = time.monotonic()
        answers = []
        while (answer := get(pos, base, unit, order_id)).status_code == 200:
            answers.append(answer.status_code)
            assert time.monotonic() - revoked_at <= TEST_CACHE_SECONDS + 1.0
            time.sleep(0.05)
        took = time.monotonic() - revoked_at
    assert_forbidden(answer)
    with capsys.disabled():
        print(
            f"\nrevocation: refused {took:.2f} s after orders-stores revoke "
            f"(bound {TEST_CACHE_SECONDS:g} s; {len(answers)} answers 200 before)"
        )


def test_a_store_reads_an_order_of_another_unit_to_be_picked_up_at_it_and_searches_only_its_own(
    stack: LocalStack,
    stores: Stores,
    http: requests.Session,
    firestore_client: firestore.Client,
    pos_as: Callable[[str], requests.Session],
) -> None:
    """An order of store A's path with a fulfillment to be picked up at store B."""
    unit_a, unit_b = stores.units
    order_id = unique_id("S2S")
    body = order_body(order_id)
    items = body["customerOrder"]["items"]
    body["customerOrder"]["fulfillments"] = [
        {
            "fulfillmentId": "F1",
            "deliveryType": "PICKUP_STORE",
            "businessUnitId": unit_b,
            "items": [
                {"itemId": item["itemId"], "quantity": item["quantityOrdered"]} for item in items
            ],
        }
    ]
    answer = http.put(
        stack.config.ingest_url + order_location(unit_a, order_id), json=body, timeout=30
    )
    assert answer.status_code == 202, answer.text
    wait_for(lambda: stored_document(firestore_client, unit_a, order_id))
    store_b = pos_as(stores.identities[1])
    read = get(store_b, stack.config.pos_url, unit_a, order_id)
    assert read.status_code == 200, read.text
    assert read.json()["customerOrder"]["customerOrderId"] == order_id
    # Reading it is not holding unit A: its other orders and its search stay refused.
    assert_forbidden(get(store_b, stack.config.pos_url, unit_a, stores.orders[0]))
    assert_forbidden(search(store_b, stack.config.pos_url, unit_a))
    # A third store is refused the order.
    assert_forbidden(get(pos_as(stores.stranger), stack.config.pos_url, unit_a, order_id))
