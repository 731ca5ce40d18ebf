"""The fuzzer's seed corpus, from the repository's fixtures and hostile inputs, and its world.

``python -m tests.fuzz.seeds`` writes ``tests/fuzz/corpus/<target>/seed-*`` (checked in;
the crashes found are ``crash-*`` files beside them, kept by this). The world is the
stored orders every case starts from (tests/fuzz/targets.py ``Deployment``): an open
order, one to be picked up, a cancelled one, a hand-made one whose body is no order,
one nested at the limit, and an order of another business unit.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.limits import MAX_JSON_NESTING
from shared.domain.messages import OrderMessage
from shared.domain.search import SearchCriteria, SearchPosition, page_token
from tests.fuzz.cases import HttpCase, PubSubCase
from tests.support import FORMATS, SAMPLE_BODY

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BU = "BU1"
CORPUS = Path(__file__).parent / "corpus"
JSON_HEADERS = {"Content-Type": "application/json"}


def body(customer_order_id: str, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(SAMPLE_BODY)
    document["customerOrder"].update(customerOrderId=customer_order_id, **changes)
    return document


def nested(levels: int) -> Any:
    value: Any = "innermost"
    for _ in range(levels):
        value = [value]
    return value


def fulfilled(customer_order_id: str) -> dict[str, Any]:
    """The sample with a store fulfillment of both items at BU1 and one at the warehouse."""
    document = body(customer_order_id)
    document["customerOrder"]["items"].append(
        {"itemId": "SOFA", "quantityOrdered": 1, "unitPrice": 1000.10}
    )
    document["customerOrder"]["fulfillments"] = [
        {"fulfillmentId": "F-STORE", "deliveryType": "PICKUP_STORE", "businessUnitId": BU,
         "items": [{"itemId": "7310865004703", "quantity": 2},
                   {"itemId": "7310865071231", "quantity": 1}]},
        {"fulfillmentId": "F-HOME", "deliveryType": "HOME_DELIVERY_WAREHOUSE",
         "items": [{"itemId": "SOFA", "quantity": 1}]},
    ]  # fmt: skip
    return document


def at_depth(customer_order_id: str, depth: int) -> dict[str, Any]:
    """An order nested ``depth`` deep by a member of its own."""
    return body(customer_order_id, deep=nested(depth - 2))


def encoded(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def order_case(
    business_unit_id: str,
    customer_order_id: str,
    data: bytes,
    *,
    received_at: datetime = T0,
    customer_id: str = "C-5521",
    status: str = "CREATED",
    **extra: str,
) -> PubSubCase:
    """The message ingest publishes for ``data`` (its digest matching, whatever the data)."""
    message = OrderMessage.accepted(
        business_unit_id,
        customer_order_id,
        received_at,
        data,
        customer_id=customer_id,
        status=status,
        correlation_id="seed",
    )
    return PubSubCase(
        data,
        {**message.attributes, **extra},
        f"seed-{customer_order_id}",
        ordering_key=message.ordering_key,
    )


def world_messages() -> list[PubSubCase]:
    return [
        order_case(BU, "CO-100234", encoded(body("CO-100234"))),
        order_case(BU, "CO-PICKED", encoded(body("CO-PICKED"))),
        order_case(BU, "CO-CANCELLED", encoded(body("CO-CANCELLED", status="CANCELLED")),
                   status="CANCELLED"),
        # A hand-made message: the processor stores what its digest vouches for.
        order_case(BU, "CO-ODD", b"[1]"),
        order_case(BU, "CO-DEEP", encoded(at_depth("CO-DEEP", MAX_JSON_NESTING))),
        order_case(BU, "CO-FULFILLED", encoded(fulfilled("CO-FULFILLED"))),
        order_case("BU2", "CO-100234", encoded(body("CO-100234"))),
    ]  # fmt: skip


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def _search(name: str, criteria: Any) -> tuple[str, HttpCase]:
    path = f"/business-units/{BU}/customer-orders:search"
    return name, HttpCase("POST", path, dict(JSON_HEADERS), encoded(criteria))


def _order_path(customer_order_id: str, suffix: str = "", business_unit_id: str = BU) -> str:
    return f"/business-units/{business_unit_id}/customer-orders/{customer_order_id}{suffix}"


def search_seeds() -> list[tuple[str, HttpCase]]:
    """Searches by each criterion, with a page token, and the two 500s of issue 29."""
    valid_token = page_token(SearchCriteria(customer_id="C-5521"), SearchPosition(T0, "CO-1"))
    previous = (FORMATS / "search-page-token-v1.txt").read_text().strip()
    return [
        _search("search-customer", {"customerId": "C-5521"}),
        _search("search-every-criterion", {
            "customerId": "C-5521", "status": ["CREATED", "CANCELLED"],
            "customerAccountId": "ACC-778", "itemId": "7310865004703",
            "receivedAt": {"from": "2026-11-01T00:00:00Z", "before": "2026-12-31T00:00:00+01:00"},
            "pageSize": 2,
        }),
        _search("search-additional-information", {"additionalInformationValue": "REQ-2026-0042"}),
        _search("search-page-token", {"customerId": "C-5521", "pageToken": valid_token}),
        _search("search-page-token-v1", {"customerId": "C-0042", "pageToken": previous}),
        _search("issue-29-search-year-1", {"receivedAt": {"from": "0001-01-01T00:00:00+01:00"}}),
        _search("search-year-9999", {"receivedAt": {"before": "9999-12-31T23:59:59-01:00"}}),
        _search("issue-29-search-page-token-brackets",
                {"customerId": "C1", "pageToken": _token(b"[" * 3000)}),
        _search("search-too-deep", {"customerId": "C1", "x": nested(MAX_JSON_NESTING)}),
    ]  # fmt: skip


def ingest_seeds() -> list[tuple[str, HttpCase]]:
    sample = encoded(body("CO-NEW"))
    put = _order_path("CO-NEW")

    def raw_put(name: str, raw: bytes, **headers: str) -> tuple[str, HttpCase]:
        return name, HttpCase("PUT", put, {**JSON_HEADERS, **headers}, raw)

    formats = [
        json.loads(path.read_text())["body"].replace("CO-FORMAT-1", "CO-NEW").encode()
        for path in sorted(FORMATS.glob("stored-order-*.json"))
    ]
    return [
        raw_put("put-sample", sample),
        raw_put("put-sample-versioned", sample, **{"Source-Version": "7", "Correlation-Id": "c1"}),
        raw_put("put-chunked", sample, **{"Transfer-Encoding": "chunked"}),
        raw_put("put-fulfilled", encoded(fulfilled("CO-NEW"))),
        ("put-fulfilled-existing", HttpCase("PUT", _order_path("CO-FULFILLED"), dict(JSON_HEADERS),
                                            encoded(fulfilled("CO-FULFILLED")))),
        ("put-existing", HttpCase("PUT", _order_path("CO-100234"), dict(JSON_HEADERS),
                                  encoded(body("CO-100234", status="UPDATED")))),
        ("put-cancellation-of-picked-up", HttpCase(
            "PUT", _order_path("CO-PICKED"), dict(JSON_HEADERS),
            encoded(body("CO-PICKED", status="CANCELLED")))),
        *(raw_put(f"put-format-{index}", raw) for index, raw in enumerate(formats)),
        raw_put("put-at-nesting-limit", encoded(at_depth("CO-NEW", MAX_JSON_NESTING))),
        raw_put("put-past-nesting-limit", encoded(at_depth("CO-NEW", MAX_JSON_NESTING + 1))),
        raw_put("put-huge-integer", sample.replace(b"250.0", b"1" + b"0" * 5000)),
        raw_put("put-huge-number", sample.replace(b"250.0", b"1e400")),
        raw_put("put-nan", sample.replace(b"250.0", b"NaN")),
        raw_put("put-invalid-utf8", sample.replace(b"C-5521", b"C-\xff")),
        raw_put("put-lone-surrogate", sample.replace(b"C-5521", b"C-\\ud800")),
        raw_put("put-duplicate-keys", sample.replace(b'{"customerOrder": {',
                                                     b'{"customerOrder": {}, "customerOrder": {', 1)),
        raw_put("put-bom", b"\xef\xbb\xbf" + sample),
        raw_put("put-form-type", sample, **{"Content-Type": "application/x-www-form-urlencoded"}),
        raw_put("put-timestamps-of-year-1-and-9999", encoded(body(
            "CO-NEW", pickedUpAt="0001-01-01T00:00:00+01:00", receivedAt="9999-12-31T23:59:59-01:00"))),
        ("get-stored", HttpCase("GET", _order_path("CO-100234"))),
        ("get-not-modified", HttpCase("GET", _order_path("CO-100234"), {"If-None-Match": "*"})),
        ("head-stored", HttpCase("HEAD", _order_path("CO-DEEP"))),
        ("get-encoded-slash", HttpCase("GET", _order_path("a%2Fb"))),
        ("delete", HttpCase("DELETE", _order_path("CO-100234"))),
        *search_seeds(),
    ]  # fmt: skip


def pos_seeds() -> list[tuple[str, HttpCase]]:
    def pickup(name: str, order: str, raw: bytes | None = None) -> tuple[str, HttpCase]:
        headers = dict(JSON_HEADERS) if raw is not None else {}
        return name, HttpCase("POST", _order_path(order, ":pickup"), headers, raw or b"")

    return [
        pickup("pickup", "CO-100234"),
        pickup("pickup-with-empty-object", "CO-100234", b"{}"),
        pickup("pickup-with-a-member", "CO-100234", b'{"x": 1}'),
        pickup("pickup-too-deep", "CO-100234", encoded({"x": nested(MAX_JSON_NESTING)})),
        pickup("pickup-repeated", "CO-PICKED"),
        pickup("pickup-cancelled", "CO-CANCELLED"),
        pickup("pickup-odd-body", "CO-ODD"),
        pickup("pickup-at-nesting-limit", "CO-DEEP"),
        pickup("pickup-unknown", "CO-NONE"),
        pickup("pickup-with-update-id", "CO-100234", b'{"updateId": "u-1"}'),
        pickup("pickup-of-items-paid", "CO-100234", encoded({
            "updateId": "u-2", "items": [{"itemId": "7310865004703", "quantity": 1}],
            "tenders": [{"tenderId": "t-1", "amount": 499.75, "method": "CARD"}]})),
        ("ready", HttpCase("POST", _order_path("CO-100234", ":ready"), dict(JSON_HEADERS),
                           b'{"updateId": "r-1"}')),
        ("ready-of-items", HttpCase("POST", _order_path("CO-100234", ":ready"), dict(JSON_HEADERS),
                                    encoded({"updateId": "r-2", "fulfillmentId": "F1",
                                             "items": [{"itemId": "7310865071231", "quantity": 1}]}))),
        ("ready-of-store-fulfillment", HttpCase(
            "POST", _order_path("CO-FULFILLED", ":ready"), dict(JSON_HEADERS),
            encoded({"updateId": "r-5", "fulfillmentId": "F-STORE",
                     "items": [{"itemId": "7310865004703", "quantity": 1}]}))),
        ("pickup-of-store-fulfillment", HttpCase(
            "POST", _order_path("CO-FULFILLED", ":pickup"), dict(JSON_HEADERS),
            encoded({"updateId": "p-5", "fulfillmentId": "F-STORE",
                     "tenders": [{"tenderId": "t-9", "amount": 999.5, "method": "CASH"}]}))),
        ("ready-of-warehouse-fulfillment", HttpCase(
            "POST", _order_path("CO-FULFILLED", ":ready"), dict(JSON_HEADERS),
            b'{"updateId": "r-6", "fulfillmentId": "F-HOME"}')),
        ("ready-of-deep", HttpCase("POST", _order_path("CO-DEEP", ":ready"), dict(JSON_HEADERS),
                                   b'{"updateId": "r-3"}')),
        ("ready-as-store-bu1", HttpCase("POST", _order_path("CO-100234", ":ready"),
                                        {**JSON_HEADERS, "Authorization": "Bearer fuzz:store-bu1@fuzz"},
                                        b'{"updateId": "r-4"}')),
        ("get-as-a-store-without-grants", HttpCase(
            "GET", _order_path("CO-100234"), {"Authorization": "Bearer fuzz:store-none@fuzz"})),
        ("get-picked-up", HttpCase("GET", _order_path("CO-PICKED"))),
        ("get-odd", HttpCase("GET", _order_path("CO-ODD"))),
        ("put-not-served", HttpCase("PUT", _order_path("CO-NEW"), dict(JSON_HEADERS),
                                    encoded(body("CO-NEW")))),
        *search_seeds(),
    ]  # fmt: skip


def _with(case: PubSubCase, **attributes: str | None) -> PubSubCase:
    changed = {**case.attributes, **attributes}
    return PubSubCase(
        case.data,
        {key: value for key, value in changed.items() if value is not None},
        case.message_id,
        case.publish_time,
        case.ordering_key,
    )


def message_seeds() -> list[tuple[str, PubSubCase]]:
    """Messages of either kind as published, and hand-made or damaged ones."""
    new = order_case(
        BU, "CO-NEW", encoded(body("CO-NEW")), received_at=datetime(2026, 12, 2, tzinfo=UTC)
    )
    pickup_format = json.loads((FORMATS / "pickup-message.json").read_text())
    pickup = PubSubCase(b"", pickup_format["attributes"], "seed-pickup")
    deep = encoded(at_depth("CO-NEW", MAX_JSON_NESTING + 1))
    return [
        ("order", new),
        ("order-versioned", _with(new, sourceVersion="7")),
        ("order-update-of-picked-up", order_case(
            BU, "CO-PICKED", encoded(body("CO-PICKED", status="CANCELLED")), status="CANCELLED",
            received_at=datetime(2026, 12, 3, tzinfo=UTC))),
        ("pickup-format", pickup),
        ("pickup-of-stored", _with(pickup, customerOrderId="CO-100234")),
        ("pickup-of-odd", _with(pickup, customerOrderId="CO-ODD")),
        ("order-digest-changed", _with(new, bodySha256="0" * 64)),
        ("order-without-received-at", _with(new, receivedAt=None)),
        ("order-received-in-year-1", _with(new, receivedAt="0001-01-01T00:00:00+01:00")),
        ("order-received-in-year-9999", _with(new, receivedAt="9999-12-31T23:59:59.999999-01:00")),
        ("order-source-version-2-63", _with(new, sourceVersion="9223372036854775808")),
        ("order-of-another-kind", _with(new, kind="store-update")),
        ("order-past-nesting-limit", order_case(BU, "CO-NEW", deep)),
        ("order-body-not-json", order_case(BU, "CO-NEW", b"\xff not json")),
        ("order-body-no-order", order_case(BU, "CO-NEW", b'{"customerOrder": 1}')),
        ("order-body-deeper-than-the-stack", order_case(BU, "CO-NEW", b"[" * 5000 + b"]" * 5000)),
        ("order-invalid-ids", order_case(BU, "CO-NEW", b"{}", businessUnitId="__x__",
                                         customerOrderId="a/b")),
        ("event-shaped", PubSubCase(encoded(body("CO-NEW")), {
            "ce-specversion": "1.0", "ce-id": "x", "ce-type": "customer-order.created",
            "ce-source": "/business-units/BU1/customer-orders", "ce-subject": "CO-NEW",
            "ce-time": "2026-12-01T00:00:00Z", "ce-businessunitid": "BU1",
            "Content-Type": "application/json"}, "seed-event")),
    ]  # fmt: skip


def published_seeds() -> list[tuple[str, PubSubCase]]:
    """The store updates the pos function publishes, as the in-memory deployment makes them."""
    from tests.fuzz.targets import _as_case, deployment

    world = deployment()
    found: list[tuple[str, PubSubCase]] = []
    for name, case in pos_seeds():
        world.begin()
        world.send(world.pos, case)
        found.extend((f"published-by-{name}", _as_case(m)) for m in world.orders.published)
    return found


def dead_letter_seeds() -> list[tuple[str, PubSubCase]]:
    from shared.domain.events import CREATED, OrderEvent

    bookkeeping = {
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        "CloudPubSubDeadLetterSourceSubscription": "customer-orders-processor",
        "CloudPubSubDeadLetterSourceSubscriptionProject": "demo-fuzz",
    }
    seeds = [
        (name, _with(case, **bookkeeping)) for name, case in [*message_seeds(), *published_seeds()]
    ]
    message = OrderMessage.accepted(
        BU, "CO-NEW", T0, encoded(body("CO-NEW")), customer_id="C-5521", status="CREATED"
    )
    event = OrderEvent(CREATED, BU, "CO-NEW", T0, message.data, None, "seed")
    seeds.append(("event", PubSubCase(event.data, {**event.attributes, **bookkeeping}, "ev-1")))
    seeds.append(
        (
            "publish-time-year-1",
            PubSubCase(
                message.data, {**message.attributes, **bookkeeping}, "m", "0001-01-01T00:00:00Z"
            ),
        )
    )
    return seeds  # fmt: skip


def sync_seeds() -> list[tuple[str, bytes]]:
    def record(order_id: str, **extra: Any) -> bytes:
        return encoded({"businessUnitId": BU, **body(order_id), **extra})

    return [
        ("export", b"\n".join(record(f"CO-S{index}") for index in range(3)) + b"\n"),
        ("export-versioned", record("CO-S1", sourceVersion=7) + b"\n\n" + record("CO-S2", sourceVersion="x")),
        ("export-bad-lines", b'{not json\n{"a": 1, "a": 2}\n[]\n{"businessUnitId": "__x__"}\n'),
        ("export-at-nesting-limit", encoded({"businessUnitId": BU, **at_depth("CO-S1", MAX_JSON_NESTING)})),
        ("export-past-nesting-limit", encoded({"businessUnitId": BU, **at_depth("CO-S1", MAX_JSON_NESTING + 1)})),
        ("export-invalid-utf8", record("CO-S1").replace(b"C-5521", b"C-\xff")),
        ("export-lone-surrogate", record("CO-S1").replace(b"C-5521", b"C-\\udfff")),
        ("export-crlf", record("CO-S1") + b"\r\n" + record("CO-S2") + b"\r\n"),
    ]  # fmt: skip


def seeds() -> dict[str, list[tuple[str, bytes]]]:
    return {
        "ingest": [(name, case.encode()) for name, case in ingest_seeds()],
        "pos": [(name, case.encode()) for name, case in pos_seeds()],
        "processor": [
            (name, case.encode()) for name, case in [*message_seeds(), *published_seeds()]
        ],
        "dlq": [(name, case.encode()) for name, case in dead_letter_seeds()],
        "sync": sync_seeds(),
    }


def write() -> None:
    for target, cases in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("seed-*"):
            stale.unlink()
        for name, data in cases:
            (folder / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(cases)} seeds in {folder}")


if __name__ == "__main__":
    write()
