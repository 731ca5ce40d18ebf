"""A store's events by the stores an order concerns: the attributes, the filter, the bridge.

Pub/Sub's filter reads attribute keys (``attributes:KEY``); the Pub/Sub emulator
evaluates no filter at all (docs/platform.md#pubsub-subscription-filters), so the local
stack's filter bridge does, over real HTTP here.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests

from shared.domain import events
from shared.domain.events import (
    MAX_FILTER_BYTES,
    MAX_STORE_ATTRIBUTES,
    MAX_STORES_PER_FILTER,
    store_attribute,
    store_attributes,
    store_filter,
)
from shared.domain.limits import MAX_ID_BYTES
from shared.tools.devstack import free_ports
from shared.tools.filter_bridge import Route, filter_bridge, matches, parse_filter
from shared.tools.functions import LOOPBACK

HEADER_NAME = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@pytest.mark.parametrize(
    "unit", ["BU1", "bu1", "Stockholm Södermalm", "a" * MAX_ID_BYTES, "ü" * 255, '"x" OR y']
)
def test_every_business_unit_id_makes_a_short_key_that_is_a_header_name(unit: str) -> None:
    key = store_attribute(unit)
    assert key == "bu-" + hashlib.sha256(unit.encode()).hexdigest()[:16]
    assert len(key) == 19
    assert set(key) <= HEADER_NAME
    # Never a CloudEvents attribute, never Pub/Sub's reserved prefix.
    assert not key.startswith(("ce-", "goog"))


def test_an_event_names_each_unit_once_by_key_with_its_id_as_value() -> None:
    attributes = store_attributes(["BU2", "BU1", "BU2"])
    assert attributes == {store_attribute("BU1"): "BU1", store_attribute("BU2"): "BU2"}
    assert (
        len(store_attributes(f"S{i}" for i in range(MAX_STORE_ATTRIBUTES))) == MAX_STORE_ATTRIBUTES
    )
    with pytest.raises(ValueError, match="at most 50 business units"):
        store_attributes(f"S{i}" for i in range(MAX_STORE_ATTRIBUTES + 1))
    assert store_attributes([]) == {}


def test_a_filter_holds_seven_units_whatever_their_ids() -> None:
    assert MAX_STORES_PER_FILTER == 7
    longest = [chr(0x4E00 + i) * 170 for i in range(MAX_STORES_PER_FILTER)]
    expression = store_filter(longest)
    assert expression is not None
    assert len(expression.encode()) == 7 * 30 + 6 * 4 <= MAX_FILTER_BYTES
    assert expression == " OR ".join(f"attributes:{store_attribute(u)}" for u in longest)
    with pytest.raises(ValueError, match="at most 7 units"):
        store_filter([*longest, "BU8"])
    assert store_filter([]) is None
    # A unit named twice costs once.
    assert store_filter(["BU1", "BU1"]) == store_filter(["BU1"])


def test_the_bridge_reads_the_filter_the_builder_writes_and_refuses_any_other() -> None:
    stores = parse_filter(store_filter(["BU1", "BU2"]) or "")
    assert stores == (store_attribute("BU1"), store_attribute("BU2"))
    assert parse_filter('attributes:"iana.org/language_tag"') == ("iana.org/language_tag",)
    for unsupported in (
        f'attributes.{events.BUSINESS_UNIT_ATTRIBUTE} = "BU1"',
        'hasPrefix(attributes.a, "x")',
        "NOT attributes:a",
        "attributes:a AND attributes:b",
    ):
        with pytest.raises(ValueError, match="cannot evaluate"):
            parse_filter(unsupported)


def test_a_store_filter_matches_an_event_that_names_the_store_among_others() -> None:
    route = Route("http://unused", parse_filter(store_filter(["BU2", "BU7"]) or ""))
    # An order of BU1 to be picked up at BU2: its event names both.
    picked_up_elsewhere = {"ce-businessunitid": "BU1", **store_attributes(["BU1", "BU2"])}
    assert matches(route, picked_up_elsewhere)
    # Header names arrive in any case.
    assert matches(route, {key.upper(): value for key, value in picked_up_elsewhere.items()})
    assert not matches(route, {"ce-businessunitid": "BU2"})
    assert not matches(route, {"ce-businessunitid": "BU1", **store_attributes(["BU1", "BU3"])})


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = ThreadingHTTPServer((LOOPBACK, 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/webhooks/store"
    finally:
        server.shutdown()
        server.server_close()


def test_the_bridge_forwards_what_the_store_filter_matches_and_acks_the_rest(receiver: str) -> None:
    port = free_ports(1)[0]
    routes = {"store": Route(receiver, parse_filter(store_filter(["BU2"]) or ""))}
    with filter_bridge(port, routes) as base, requests.Session() as http:
        elsewhere = http.post(
            f"{base}/store",
            data=b"{}",
            headers={"ce-businessunitid": "BU1", **store_attributes(["BU1", "BU2"])},
            timeout=10,
        )
        other = http.post(
            f"{base}/store", data=b"{}", headers={"ce-businessunitid": "BU2"}, timeout=10
        )
    assert (elsewhere.status_code, other.status_code) == (204, 204)
    assert [headers["ce-businessunitid"] for headers in _Receiver.received] == ["BU1"]
    assert _Receiver.received[0][store_attribute("BU2")] == "BU2"
