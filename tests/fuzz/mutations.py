"""Structure-aware mutation for the coverage-guided fuzzer (``make fuzz``, tests/fuzz/run.py).

libFuzzer's own mutations flip bytes: inside a JSON body nearly every flip makes it
malformed, so the fuzzer would rarely get past the parse. These mutate what a request is
made of instead: the method, the path and its ids, a header, one node of the JSON body
(replaced by a hostile value, a random one, deleted, wrapped deeper, given a twin), or
a Pub/Sub message's attributes and the body inside its base64 data, whose digest is
then recomputed most of the time so that the processor gets past its check. Every
choice is read from an :class:`atheris.FuzzedDataProvider` over bytes of the mutator's
seed, so a run is reproducible from libFuzzer's seed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

import atheris  # type: ignore[import-untyped]

from shared.domain.limits import MAX_JSON_NESTING
from tests.fuzz.cases import (
    HttpCase,
    parse_http_case,
    parse_pubsub_case,
)

Json = Any
# atheris.FuzzedDataProvider (atheris ships no type information).
Provider = Any

# How often a mutation is libFuzzer's byte-level one rather than a structural one.
_BYTE_LEVEL_SHARE = 0.25


def _nested(levels: int) -> Json:
    value: Json = 0
    for _ in range(levels):
        value = [value]
    return value


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


# Values that broke, or could break, a rule somewhere: limits of sizes, ranges and types.
HOSTILE_VALUES: list[Json] = [
    None, True, False, 0, -1, 1.5, -0.0, 1e308, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1,
    10**400, "", " ", "x" * 1500, "x" * 1501, "é" * 751, "\ud800", "a\ud800b", "\x00",
    "\u2028", "a/b", "..", ".", "__x__", "%2F", "a%0Ab", "CO-100234", "BU1", "C-5521",
    "CREATED", "CANCELLED", "PICKED_UP", "PICKUP_STORE", "HOME_DELIVERY_WAREHOUSE", "F-STORE",
    "F-HOME", "SOFA", "7310865004703", "1e-7", "0.1", 1e-7, 0.1, 3.0000000000000004,
    "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00-01:00", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999-01:00", "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59.999999+01:00", "2026-12-01T00:00:00Z", "2026-12-01",
    "2026-12-01T00:00:00", "2026-12-01T25:00:00Z", "+002026-12-01T00:00:00Z",
    _token(b"[" * 3000), _token(b"[" * 65 + b"]" * 65), _token(b'[1,"x"]'),
    _token(b'[2,"0000000000000000","2026-12-01T00:00:00Z","CO-1"]'),
    _token(b'[2,"0000000000000000","0001-01-01T00:00:00+01:00","CO-1"]'),
    _token(b'{"a":1}'), _token(b"\xff\xfe"), "!!", "====",
    [], {}, [[]], {"": None}, _nested(MAX_JSON_NESTING - 3), _nested(MAX_JSON_NESTING),
    _nested(MAX_JSON_NESTING + 1), ["x"] * 11, [f"S{index}" for index in range(30)],
]  # fmt: skip
MEMBER_NAMES = [
    "customerOrder", "customerOrderId", "customerId", "status", "items", "itemId",
    "quantityOrdered", "unitPrice", "invoicePaymentInstructions", "customerAccountId",
    "invoicingAmount", "additionalInformation", "id", "value", "displayText", "receiptLabel",
    "minimumDownPaymentAmount", "isLocked", "pickedUpAt", "receivedAt", "from", "before",
    "pageSize", "pageToken", "additionalInformationValue", "businessUnitId", "sourceVersion",
    "fulfillments", "fulfillmentId", "deliveryType", "quantity", "updateId", "tenders",
    "tenderId", "amount", "method", "readyQuantity", "pickedUpQuantity", "storeState",
    "", "__proto__", "x" * 1501,
]  # fmt: skip
# Raw JSON text no encoder writes: what only a hand-made body holds.
RAW_SPLICES = [
    b"NaN", b"-Infinity", b"1" + b"0" * 5000, b"1e99999", b'"\xff"', b'"\xed\xa0\x80"',
    b'"\\ud800"', b"[" * 2000, b"]", b"}", b",", b"\xef\xbb\xbf", b"\x00", b"//", b"'a'",
]  # fmt: skip

METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "PUT", "POST"]
BUSINESS_UNITS = ["BU1", "BU2", "__x__", "..", "%2F", "a%2Fb", "B%07U", "%C3%A9", "%FF", "x" * 600]
ORDER_IDS = [
    "CO-100234", "CO-PICKED", "CO-CANCELLED", "CO-ODD", "CO-DEEP", "CO-FULFILLED", "CO-NEW",
    "..", "a%2Fb",
    "a%0Ab", "%E2%80%A8", "%FF", "__x__", "x" * 1500, "CO-1%3Apickup",
]  # fmt: skip
SUFFIXES = ["", ":pickup", ":search", ":ready", ":fulfill", "/", "?a=1", "%3Apickup", "/x"]
HEADERS: dict[str, list[str]] = {
    "Content-Type": [
        "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
        "application/problem+json", "application/x-www-form-urlencoded", "text/plain", "",
        "application/json;;;", 'application/json; charset="UTF-8"',
    ],
    "Source-Version": ["0", "1", "7", "-1", "9223372036854775807", "9223372036854775808", "1.5",
                       "", "0x10", " 7", "٣"],
    "Correlation-Id": ["abc", "", "x" * 129, "a b", "é", "\x7f"],
    "If-None-Match": ["*", '"x"', "W/\"x\"", ",,,", ""],
    "Transfer-Encoding": ["chunked"],
    "Authorization": ["Bearer fuzz:store-bu1@fuzz", "Bearer fuzz:store-none@fuzz",
                      "Bearer fuzz:nobody@fuzz", "Bearer x", "Basic x", "Bearer " + "x" * 5000, ""],
}  # fmt: skip
PUBSUB_ATTRIBUTES = [
    "businessUnitId", "customerOrderId", "receivedAt", "customerId", "status", "bodySha256",
    "sourceVersion", "correlationId", "kind", "pickedUpAt", "updateId", "ce-specversion",
    "ce-id", "ce-type", "ce-source", "ce-subject", "ce-time", "ce-businessunitid",
    "ce-sourceversion", "ce-correlationid", "ce-pickedupat", "Content-Type",
    "CloudPubSubDeadLetterSourceDeliveryCount", "CloudPubSubDeadLetterSourceSubscription",
]  # fmt: skip


def _byte_level(data: bytes, max_size: int) -> bytes:
    """libFuzzer's own mutation of ``data``."""
    return bytes(atheris.Mutate(data, max_size))


def provider(seed: int) -> Provider:
    return atheris.FuzzedDataProvider(random.Random(seed).randbytes(512))


def _pick(fdp: Provider, values: list[Any]) -> Any:
    # A copy: a value put into a document is mutated with it later, and must not be shared.
    return copy.deepcopy(values[fdp.ConsumeIntInRange(0, len(values) - 1)])


def _random_value(fdp: Provider) -> Json:
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40))
    if kind == 1:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12))
    if kind == 2:
        return fdp.ConsumeFloat()
    if kind == 3:
        return _nested(fdp.ConsumeIntInRange(0, MAX_JSON_NESTING + 2))
    return _pick(fdp, HOSTILE_VALUES)


def _locations(document: Json) -> list[tuple[Json, Any]]:
    """(container, key) of every node under the root, breadth first, at most 300."""
    found: list[tuple[Json, Any]] = []
    level = [document]
    while level and len(found) < 300:
        following = []
        for container in level:
            keys = list(container) if isinstance(container, dict) else range(len(container))
            for key in keys:
                found.append((container, key))
                if isinstance(container[key], dict | list):
                    following.append(container[key])
        level = following
    return found


def mutate_document(document: Json, fdp: Provider) -> Json:
    """One structural change of a parsed JSON document."""
    locations = _locations(document) if isinstance(document, dict | list) else []
    if not locations or fdp.ConsumeProbability() < 0.05:
        return _random_value(fdp)
    container, key = _pick(fdp, locations)
    operation = fdp.ConsumeIntInRange(0, 7)
    if operation <= 2:
        container[key] = _pick(fdp, HOSTILE_VALUES)
    elif operation == 3:
        container[key] = _random_value(fdp)
    elif operation == 4:
        del container[key]
    elif operation == 5:
        levels = fdp.ConsumeIntInRange(1, MAX_JSON_NESTING)
        for _ in range(levels):
            container[key] = [container[key]]
    elif operation == 6 and isinstance(container, dict):
        name = _pick(fdp, MEMBER_NAMES) if fdp.ConsumeBool() else fdp.ConsumeUnicode(12)
        container[name] = _random_value(fdp)
    elif isinstance(container, list):
        container.append(json.loads(json.dumps(container[key])))
    else:
        container[key] = {"copy": container[key]} if fdp.ConsumeBool() else [container[key]]
    return document


def encode_document(document: Json, fdp: Provider) -> bytes:
    """JSON text of ``document``, sometimes spliced with what no encoder writes."""
    text = json.dumps(document, ensure_ascii=fdp.ConsumeBool(), allow_nan=True)
    raw = text.encode("utf-8", "surrogatepass")
    if fdp.ConsumeProbability() < 0.15:
        # A second copy of the first member: duplicate names, valid otherwise.
        brace = raw.find(b"{")
        end = raw.find(b",", brace) if brace >= 0 else -1
        if brace >= 0 and end > brace:
            raw = raw[: end + 1] + raw[brace + 1 : end + 1] + raw[end + 1 :]
    if fdp.ConsumeProbability() < 0.15:
        at = fdp.ConsumeIntInRange(0, len(raw))
        raw = raw[:at] + _pick(fdp, RAW_SPLICES) + raw[at:]
    return raw


def mutate_json_bytes(raw: bytes, fdp: Provider, max_size: int) -> bytes:
    """A structural change when ``raw`` parses, libFuzzer's byte-level one otherwise."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return _byte_level(raw, max_size)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        document = mutate_document(document, fdp)
    return encode_document(document, fdp)


def _mutate_path(case: HttpCase, fdp: Provider) -> None:
    shape = fdp.ConsumeIntInRange(0, 4)
    unit = _pick(fdp, BUSINESS_UNITS)
    order = _pick(fdp, ORDER_IDS)
    if shape == 0:
        case.path = f"/business-units/{unit}/customer-orders/{order}{_pick(fdp, SUFFIXES)}"
    elif shape == 1:
        case.path = f"/business-units/{unit}/customer-orders:search{_pick(fdp, SUFFIXES)}"
    elif shape == 2:
        case.path = f"/business-units/{unit}/customer-orders/{order}"
    elif shape == 3:
        case.path = _pick(fdp, ["/", "/robots.txt", "/favicon.ico", "/business-units", "//x"])
    else:
        case.path = "/" + fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 60))


def mutate_http(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's custom mutator for an HTTP request case (tests/fuzz/cases.py)."""
    fdp = provider(seed)
    if fdp.ConsumeProbability() < _BYTE_LEVEL_SHARE:
        return _byte_level(data, max_size)
    case = parse_http_case(data)
    part = fdp.ConsumeIntInRange(0, 9)
    if part == 0:
        case.method = _pick(fdp, METHODS)
    elif part == 1:
        _mutate_path(case, fdp)
    elif part == 2:
        name = _pick(fdp, list(HEADERS))
        if name in case.headers and fdp.ConsumeBool():
            del case.headers[name]
        else:
            case.headers[name] = _pick(fdp, HEADERS[name])
    elif part == 3:
        case.body = _byte_level(case.body, max(0, max_size - 200))
    else:
        case.body = mutate_json_bytes(case.body, fdp, max(0, max_size - 200))
    return case.encode()[:max_size]


def mutate_pubsub(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's custom mutator for a Pub/Sub message case (tests/fuzz/cases.py)."""
    fdp = provider(seed)
    if fdp.ConsumeProbability() < _BYTE_LEVEL_SHARE / 2:
        return _byte_level(data, max_size)
    case = parse_pubsub_case(data)
    part = fdp.ConsumeIntInRange(0, 7)
    if part <= 1:
        name = _pick(fdp, PUBSUB_ATTRIBUTES)
        if name in case.attributes and fdp.ConsumeProbability() < 0.3:
            del case.attributes[name]
        else:
            value = _random_value(fdp)
            case.attributes[name] = value if isinstance(value, str) else json.dumps(value)
    elif part == 2:
        case.data = _byte_level(case.data, max(0, max_size // 2))
    elif part == 3:
        case.push_path = _pick(fdp, ["/", "/store-updates", "/store-updates/", "/x"])
        case.ordering_key = _pick(fdp, ["", "BU1/CO-100234", "BU1/CO-NEW", "x" * 1025])
        case.publish_time = _pick(
            fdp, ["2026-12-01T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "x"]
        )
    else:
        case.data = mutate_json_bytes(case.data, fdp, max(0, max_size // 2))
    if "bodySha256" in case.attributes and fdp.ConsumeProbability() < 0.8:
        # The digest of the data as it now is: past the processor's check of it.
        case.attributes["bodySha256"] = hashlib.sha256(case.data).hexdigest()
    return case.encode()[:max_size]


def mutate_ndjson(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's custom mutator for an orders-sync export: one record (line) at a time."""
    fdp = provider(seed)
    if fdp.ConsumeProbability() < _BYTE_LEVEL_SHARE:
        return _byte_level(data, max_size)
    lines = data.split(b"\n") or [b""]
    at = fdp.ConsumeIntInRange(0, len(lines) - 1)
    choice = fdp.ConsumeIntInRange(0, 5)
    if choice == 0:
        lines.insert(at, lines[at])
    elif choice == 1 and len(lines) > 1:
        del lines[at]
    else:
        lines[at] = mutate_json_bytes(lines[at], fdp, max_size).replace(b"\n", b" ")
    return b"\n".join(lines)[:max_size]


MUTATORS: dict[str, Callable[[bytes, int, int], bytes]] = {
    "http": mutate_http,
    "pubsub": mutate_pubsub,
    "ndjson": mutate_ndjson,
}
