"""The OpenAPI 3.1 documents of the ingest (OMS) and pos (POS) APIs, built from the pydantic models.

``make openapi`` writes them to ``functions/{ingest,pos}/openapi.json``; a test fails
when the committed file and this module disagree, the fuzz tests drive the
real ingest function from it and check every answer against it, and Redocly's linter
must pass both (tests/unit/test_apidocs.py). So the order schema has one source
(:mod:`shared.domain.model`), and the answers are described by the small typed
documents below, which the fuzz tests hold the code to.

Each builder describes its paths; :func:`_finished` then gives every operation the
ID-token security scheme, declares the servers, and keeps only the components the
paths use. An operation added to either document is secured without more code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, NotRequired

from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from shared.domain.addresses import (
    ORDER_PATH_TEMPLATE,
    PICKUP_PATH_TEMPLATE,
    READY_PATH_TEMPLATE,
    SEARCH_PATH_TEMPLATE,
)
from shared.domain.correlation import HEADER as CORRELATION_HEADER
from shared.domain.limits import (
    FIRESTORE_MAX_INDEXED_VALUE_BYTES,
    MAX_BODY_BYTES,
    MAX_FULFILLMENT_STATUS_BYTES,
    MAX_ID_BYTES,
    MAX_PROJECTED_BYTES,
)
from shared.domain.model import (
    MAX_PAGE_SIZE,
    MAX_STATUSES,
    CustomerOrderDocument,
    PickupRequest,
    ReadyRequest,
    SearchRequest,
)
from shared.domain.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TITLES, Problem
from shared.domain.stored_order import MAX_AMOUNT_CHARACTERS
from shared.tools.devstack import StackConfig
from shared.tools.functions import REPO_ROOT

OPENAPI_PATH = REPO_ROOT / "functions" / "ingest" / "openapi.json"
POS_OPENAPI_PATH = REPO_ROOT / "functions" / "pos" / "openapi.json"
_REF = "#/components/schemas/{model}"
_COMPONENTS = "#/components/"
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

# Every call to either function needs a Google-signed ID token; Cloud Run checks it in
# front of the function (docs/deploying.md#identities-and-iam).
SECURITY_SCHEME = "googleIdToken"
_SECURITY_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A Google-signed ID token (a JWT) of an identity the function's invokers "
    "list, whose audience is the function's URL: `Authorization: Bearer TOKEN`. In Python "
    "`google.oauth2.id_token.fetch_id_token(request, URL)`, on the command line `gcloud auth "
    "print-identity-token --audiences=URL`. Cloud Run checks it before the function runs: "
    "401 without a valid token, 403 for an identity that may not call this function. The "
    "local stack of `make dev` needs none.",
}

# The pos function verifies the token again itself, and Cloud Run hands it the one it
# checked without its signature (docs/platform.md#who-calls-the-pos).
_POS_SECURITY_SCHEME: dict[str, Any] = {
    **_SECURITY_SCHEME,
    "description": "A Google-signed ID token (a JWT) of an identity the function's invokers "
    "list, whose audience is the function's URL, sent twice: `X-Serverless-Authorization: "
    "Bearer TOKEN`, which Cloud Run checks before the function runs, and `Authorization: "
    "Bearer TOKEN`, which Cloud Run then passes on as sent and the function verifies again "
    "(the copy Cloud Run checked reaches the function without its signature). The "
    "identity's grants say which business units it may read and update (docs/pos.md). The "
    "local stack of `make dev` takes the tokens of `orders-dev-token`, or none: a POS of "
    "every store.",
}

# The problem types each error status can carry; the fuzz tests hold the service to it.
PROBLEM_SLUGS_BY_STATUS: Mapping[int, tuple[str, ...]] = {
    400: ("malformed-json", "invalid-id", "invalid-header"),
    # The pos function's own answers (shared/api/access.py); ingest has no authenticator.
    401: ("unauthenticated",),
    403: ("forbidden",),
    404: ("not-found",),
    405: ("method-not-allowed",),
    409: (
        "order-cancelled",
        "already-picked-up",
        "already-ready",
        "unknown-item",
        "fulfillment-not-found",
        "warehouse-fulfillment",
        "update-id-reused",
        "tender-recorded",
    ),
    413: ("payload-too-large",),
    415: ("unsupported-media-type",),
    422: (
        "validation-failed",
        "invalid-search",
        "invalid-store-update",
        "more-than-remains",
        "fulfillment-required",
        "store-update-refused",
    ),
    503: ("publish-unavailable", "store-unavailable"),
}

_STATUS_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed JSON (also duplicate member names, NaN or Infinity, invalid UTF-8, "
    "a byte-order mark), an invalid id in the path (`errors` names it), or a malformed "
    "`Source-Version` or `Correlation-Id` header.",
    401: "The function found no ID token it could verify in `Authorization` (none, not "
    "Google-signed, expired, for another audience, no verified email, or the copy Cloud Run "
    "checked, whose signature it removed: send the token in `X-Serverless-Authorization` "
    "too). Nothing recorded. Cloud Run's own 401, before the function runs, has no problem "
    "body.",
    403: "The caller's identity does not hold the business unit (docs/pos.md): GET, an order "
    "neither in a business unit it holds nor with a fulfillment to be picked up at one of "
    "its stores; search, the path's business unit; a store update, the store the "
    "fulfillment is to be picked up at. Also when no such order exists there. Nothing "
    "recorded; logged with the identity. Cloud Run's own 403, for an identity that may not "
    "call the function at all, has no problem body.",
    404: "No such resource: any other path, or (GET) no order stored under these ids.",
    405: "Any other method on an order or search path; `Allow` lists the supported ones.",
    409: "(store update) The order does not allow it: it is cancelled, an item asked for "
    "was picked up already (`errors` names each, how many and when: do not hand it out "
    "again), everything asked for is ready already, the fulfillment or item is not the "
    "order's (any more), the fulfillment is delivered from the warehouse, the `updateId` "
    "was recorded for another update, or a `tenderId` is recorded already. Nothing recorded.",
    413: f"A PUT body over {MAX_BODY_BYTES} bytes, or a search body over 16 KiB, with or "
    "without Content-Length.",
    415: "The body is not JSON, or its Content-Type is neither JSON nor absent "
    "(curl's default `application/x-www-form-urlencoded` is accepted when the body is JSON).",
    422: "The body breaks the customer order schema (or the search request's), its "
    "`customerOrderId` differs from the path, or a projection (`customerId`, `status`) is "
    f"over {MAX_PROJECTED_BYTES} bytes of UTF-8, a searched value (an `itemId`, the "
    "`customerAccountId`, an `additionalInformation` value) is over "
    f"{FIRESTORE_MAX_INDEXED_VALUE_BYTES}, a fulfillment's `status` over "
    f"{MAX_FULFILLMENT_STATUS_BYTES}, or the stored order with its search fields would "
    "pass Firestore's limits for a document or its index entries; `errors` lists every "
    "violation as a JSON pointer. (search) No criterion, `itemId` with "
    "`additionalInformationValue`, `fulfillmentStatus` with a criterion other than "
    "`receivedAt`, or a page token of another search. "
    "(store update) A body that breaks the request's schema, more than remains of an item, "
    "no `fulfillmentId` where the order has several store fulfillments, or an order that "
    "cannot hold the store's record. Nothing recorded.",
    503: "Pub/Sub did not confirm the publish (PUT) or Firestore did not answer (GET, search) "
    "in time, the pos function could not fetch the keys that verify ID tokens or read the "
    "caller's grants, or an index the search needs is still being built after a deployment; "
    "send the request again after `Retry-After` seconds. A PUT answered 503 may or may not "
    "have been published: sending it again (with the same `Source-Version`) is safe.",
}

# Ids become Firestore document ids, Pub/Sub attributes and one path segment each. JSON
# Schema can say neither "printable" (Python's str.isprintable) nor a length in bytes, so
# the schema is looser than the rule: every valid id matches it, and the service rejects
# the rest with 400.
ID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_BYTES,
    "pattern": "^[^/\\u0000-\\u001f\\u007f]+$",
    "not": {"anyOf": [{"enum": [".", ".."]}, {"pattern": "^__.*__$"}]},
    "description": f"1 to {MAX_ID_BYTES} bytes of UTF-8, printable, without `/`, not `.` or "
    "`..`, and not of the form `__name__` (reserved by Firestore); the ordering key "
    "`businessUnitId/customerOrderId` then fits Pub/Sub's 1,024 bytes. Percent-encode it in "
    "the path.",
}


class FieldViolation(TypedDict):
    """One rejected field or id."""

    pointer: str
    detail: str


@with_config(ConfigDict(extra="forbid"))
class ProblemDetails(TypedDict):
    """An RFC 9457 problem document, the body of every error answer."""

    type: str
    title: str
    status: int
    detail: str
    errors: NotRequired[list[FieldViolation]]


@with_config(ConfigDict(extra="forbid"))
class CustomerOrderSummary(TypedDict):
    """One order found: where it is stored, the proxy's three members, receivedAt, any pickup."""

    businessUnitId: str
    customerOrderId: str
    customerId: str
    status: str
    receivedAt: str
    pickedUpAt: NotRequired[str]


@with_config(ConfigDict(extra="forbid"))
class SearchResult(TypedDict):
    """The answer of a search: a page of the business unit's orders that match, newest first."""

    customerOrders: list[CustomerOrderSummary]
    nextPageToken: NotRequired[str]


@with_config(ConfigDict(extra="forbid"))
class Accepted(TypedDict):
    """The 202 answer of a PUT: Pub/Sub has confirmed the publish."""

    businessUnitId: str
    customerOrderId: str
    messageId: str
    receivedAt: str


def _schema(kind: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schema of ``kind`` and the definitions it references, for ``components``."""
    schema = TypeAdapter(kind).json_schema(by_alias=True, ref_template=_REF)
    definitions = schema.pop("$defs", {})
    return schema, definitions


def _schemas() -> dict[str, Any]:
    order, order_definitions = _schema(CustomerOrderDocument)
    order["description"] = (
        "The PUT body and the GET answer. Validation is strict (no string is taken for a "
        "number, nor a number for a boolean); members this schema does not name are kept "
        "as sent, and the body is stored and answered byte for byte. Beyond the schema only "
        f"the body's size (at most {MAX_BODY_BYTES} bytes) and the projections `customerId` "
        f"and `status` (each at most {MAX_PROJECTED_BYTES} bytes of UTF-8) are limited."
    )
    order_definitions["CustomerOrder"]["properties"]["customerOrderId"] = {
        **ID_SCHEMA,
        "description": "Equal to the `customerOrderId` of the path. " + ID_SCHEMA["description"],
    }
    problem, problem_definitions = _schema(ProblemDetails)
    problem["properties"]["type"].update(
        format="uri",
        enum=[Problem(0, slug, "").type for slug in PROBLEM_TITLES],
        description="Switch on this URI; `title` is fixed per type.",
    )
    problem["properties"]["errors"].update(minItems=1)
    problem_definitions["FieldViolation"]["properties"]["pointer"].update(
        description="RFC 6901 JSON pointer into the body, or `/businessUnitId` or "
        "`/customerOrderId` for an id of the path."
    )
    search, search_definitions = _schema(SearchRequest)
    search["description"] = (
        "The proxy approach's search body (`customerId`) and more criteria, each optional, "
        "all combined with AND, at least one: `status` (one, or an array of up to "
        f"{MAX_STATUSES}), `customerAccountId` (invoicePaymentInstructions), "
        "`additionalInformationValue` (the exact `value` of one of invoicePaymentInstructions"
        ".additionalInformation[]), `itemId` (one of items[]) and a `receivedAt` range. "
        "`itemId` and `additionalInformationValue` exclude each other (Firestore matches one "
        "array member per query). Each value is matched exactly, as stored, and is at most "
        f"{FIRESTORE_MAX_INDEXED_VALUE_BYTES} bytes of UTF-8. `fulfillmentStatus` (one, or an "
        f"array of up to {MAX_STATUSES}, each at most {MAX_FULFILLMENT_STATUS_BYTES} bytes) "
        "finds what is to be picked up at this business unit: the orders of EVERY business "
        "unit (a store-to-store order is stored under the one it was sold in) with a "
        "fulfillment to be picked up here whose status, the store's or else the OMS's, is one "
        "of those (`READY_FOR_PICKUP`: waiting for pickup); it combines with `receivedAt` "
        "only, and each summary's `businessUnitId` says where the order is stored. An order "
        "is found by its stored version only. Paging: at most "
        f"`pageSize` orders (1 to {MAX_PAGE_SIZE}, default {MAX_PAGE_SIZE}) a page, the next "
        "page asked for with the `nextPageToken` of the one before and the same criteria; an "
        "order that gets a new version while the pages are read moves to the top."
    )
    search_definitions["ReceivedAtRange"]["properties"]["from"].update(
        description="Inclusive: orders whose stored version was received at or after it."
    )
    search_definitions["ReceivedAtRange"]["properties"]["before"].update(
        description="Exclusive: orders whose stored version was received before it."
    )
    result, result_definitions = _schema(SearchResult)
    result_definitions["CustomerOrderSummary"]["properties"]["receivedAt"].update(
        format="date-time",
        description="When ingest received the stored version: the answer's order.",
    )
    result_definitions["CustomerOrderSummary"]["properties"]["businessUnitId"].update(
        description="The business unit whose path the order is stored under: the searched "
        "one, or for `fulfillmentStatus` possibly another (GET it there)."
    )
    result["properties"]["nextPageToken"].update(
        description="Present when more orders follow; send it as `pageToken`."
    )
    accepted, _ = _schema(Accepted)
    accepted["properties"]["receivedAt"].update(
        format="date-time",
        description="The version of this order: RFC 3339 in UTC with microseconds.",
    )
    return {
        **order_definitions,
        "CustomerOrderDocument": order,
        **problem_definitions,
        "Problem": problem,
        "Accepted": accepted,
        **search_definitions,
        "SearchRequest": search,
        **result_definitions,
        "SearchResult": result,
        "Id": ID_SCHEMA,
    }


def _problem_response(status: int) -> dict[str, Any]:
    slugs = PROBLEM_SLUGS_BY_STATUS[status]
    schema: dict[str, Any] = {
        "allOf": [
            {"$ref": _REF.format(model="Problem")},
            {
                "properties": {
                    "status": {"const": status},
                    "type": {"enum": [Problem(status, slug, "").type for slug in slugs]},
                }
            },
        ]
    }
    response: dict[str, Any] = {
        "description": _STATUS_DESCRIPTIONS[status],
        "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}}
    if status == 405:
        response["headers"] = {"Allow": {"$ref": "#/components/headers/Allow"}}
    if status == 503:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"} for status in statuses}


def _source_version(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
    }


def _correlation_parameter() -> dict[str, Any]:
    return {
        "name": CORRELATION_HEADER,
        "in": "header",
        "required": False,
        "description": "Your id of the request (1 to 128 visible ASCII characters); one is "
        "made when absent. Answered back, carried with the order, and on every log line of "
        "its PUT and processing.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"},
    }


def _order_headers() -> dict[str, Any]:
    return {
        "Source-Version": _source_version(
            "The `Source-Version` the stored version was PUT with; absent when it had none."
        ),
        "ETag": {
            "description": "Strong: the SHA-256 of the answer's body, in hex, quoted: the "
            "OMS's body as sent while no store recorded anything, the order with the store's "
            "record after (a store update changes it).",
            "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
        },
        "OMS-Body-SHA256": {
            "description": "The SHA-256 of the body the OMS PUT for the stored version, in "
            "hex: equal to the digest of what the OMS sent, the stored order is that one.",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
        "Received-At": {
            "description": "The exact `receivedAt` of the stored version.",
            "schema": {"type": "string", "format": "date-time"},
        },
        "Last-Modified": {
            "description": "`receivedAt` to the second.",
            "schema": {"type": "string"},
        },
        "Picked-Up-At": {
            "description": "When a store last handed items of the order out; absent until "
            "then, kept by every later version.",
            "schema": {"type": "string", "format": "date-time"},
        },
    }


def _servers(function: str, local_port: int) -> list[dict[str, Any]]:
    return [
        {
            "url": "https://{host}",
            "description": f"The deployed {function} function: its URL is what `terraform "
            f"-chdir=terraform output -raw {function}_url` prints.",
            "variables": {
                "host": {
                    "default": f"customer-orders-{function}-PROJECT_NUMBER.REGION.run.app",
                    "description": f"The host of the {function} function's URL.",
                }
            },
        },
        {
            "url": f"http://localhost:{local_port}",
            "description": "The local stack of `make dev` (no token needed).",
        },
    ]


def _refs(value: Any) -> list[str]:
    """Every ``$ref`` inside ``value``."""
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [ref for member in value.values() for ref in _refs(member)]
    if isinstance(value, list):
        return [ref for member in value for ref in _refs(member)]
    return []


def _finished(
    document: dict[str, Any],
    *,
    servers: list[dict[str, Any]],
    scheme: dict[str, Any] = _SECURITY_SCHEME,
) -> dict[str, Any]:
    """``document`` with the servers, every operation secured, and only the components used."""
    for path_item in document["paths"].values():
        for method, operation in path_item.items():
            if method in _METHODS:
                operation["security"] = [{SECURITY_SCHEME: []}]
    components = document["components"]
    used: set[str] = set()
    pending = _refs(document["paths"])
    while pending:
        ref = pending.pop().removeprefix(_COMPONENTS)
        if ref not in used:
            used.add(ref)
            kind, name = ref.split("/", 1)
            pending.extend(_refs(components[kind][name]))
    kept = {
        kind: {name: value for name, value in members.items() if f"{kind}/{name}" in used}
        for kind, members in components.items()
    }
    return {
        "openapi": document["openapi"],
        "info": document["info"],
        "servers": servers,
        "paths": document["paths"],
        "components": {**kept, "securitySchemes": {SECURITY_SCHEME: scheme}},
    }


def build_document() -> dict[str, Any]:
    """The ingest API's OpenAPI 3.1 document, deterministic so that the file can be compared."""
    return _finished(_ingest_document(), servers=_servers("ingest", StackConfig.ingest_port))


def _ingest_document() -> dict[str, Any]:
    order_content = {
        "application/json": {"schema": {"$ref": _REF.format(model="CustomerOrderDocument")}}
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "customer-order-events ingest API",
            "version": "1",
            "description": (
                "The OMS PUTs customer orders here. A 202 means Pub/Sub has confirmed the "
                "publish: the order will be stored, and of several versions of one order the "
                "one with the greatest `Source-Version` wins, and of equal (or no) versions the "
                "one received last (`receivedAt`). GET answers the stored body byte for "
                "byte; the search finds the business unit's orders by their customer, status, "
                "invoice account, additional information, item or receivedAt. Errors are "
                "`application/problem+json` (RFC 9457) and never carry internal details."
            ),
        },
        "paths": {
            ORDER_PATH_TEMPLATE: {
                "parameters": [
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"$ref": _REF.format(model="Id")},
                    }
                    for name in ("businessUnitId", "customerOrderId")
                ],
                "put": {
                    "operationId": "putCustomerOrder",
                    "summary": "Accept a version of a customer order",
                    "parameters": [
                        {
                            "name": "Source-Version",
                            "in": "header",
                            "required": False,
                            **_source_version(
                                "The OMS's version of the order, a decimal integer from 0 to "
                                "2^63 - 1 that grows whenever the order changes (its revision, "
                                "or its last-modified time in microseconds). Once an order "
                                "carries versions, a PUT with a lower one or none is stored "
                                "as stale, whenever it arrives."
                            ),
                        },
                        _correlation_parameter(),
                    ],
                    "requestBody": {"required": True, "content": order_content},
                    "responses": {
                        "202": {
                            "description": "Published and confirmed by Pub/Sub.",
                            "headers": {
                                "Location": {
                                    "description": "The order's path, for the GET.",
                                    "schema": {"type": "string"},
                                },
                                "ETag": {
                                    "description": "Strong: the SHA-256 of the body sent, in "
                                    "hex, quoted: GET's `OMS-Body-SHA256` once this version "
                                    "is stored.",
                                    "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
                                },
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": _REF.format(model="Accepted")}
                                }
                            },
                        },
                        **_errors(400, 404, 405, 413, 415, 422, 503),
                    },
                },
                "get": {
                    "operationId": "getCustomerOrder",
                    "summary": "The stored version of a customer order",
                    "parameters": [
                        _correlation_parameter(),
                        {
                            "name": "If-None-Match",
                            "in": "header",
                            "required": False,
                            "description": "The ETag of a version the caller holds: 304 if "
                            "it is the stored one.",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The stored order, byte for byte as it was sent.",
                            "headers": _order_headers(),
                            "content": order_content,
                        },
                        "304": {
                            "description": "The stored version is the one `If-None-Match` names.",
                            "headers": _order_headers(),
                        },
                        **_errors(400, 404, 405, 503),
                    },
                },
            },
            SEARCH_PATH_TEMPLATE: {
                "parameters": [
                    {
                        "name": "businessUnitId",
                        "in": "path",
                        "required": True,
                        "schema": {"$ref": _REF.format(model="Id")},
                    }
                ],
                "post": {
                    "operationId": "searchCustomerOrders",
                    "summary": "The business unit's orders that match every criterion given",
                    "parameters": [_correlation_parameter()],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": _REF.format(model="SearchRequest")}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "A page of the matching orders, newest first (by "
                            "`receivedAt`, then `businessUnitId` and `customerOrderId`, all "
                            "descending); an empty list when none match.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": _REF.format(model="SearchResult")}
                                }
                            },
                        },
                        **_errors(400, 404, 405, 413, 415, 422, 503),
                    },
                },
            },
        },
        "components": {
            "schemas": _schemas(),
            "responses": {
                f"Problem{status}": _problem_response(status) for status in PROBLEM_SLUGS_BY_STATUS
            },
            "headers": {
                "Allow": {
                    "description": "The supported methods.",
                    "schema": {"type": "string"},
                },
                "WWWAuthenticate": {
                    "description": "The scheme to authenticate with (RFC 6750).",
                    "schema": {"type": "string", "pattern": "^Bearer"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before sending again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
            },
        },
    }


def build_pos_document() -> dict[str, Any]:
    """The POS's API: the ingest API's GET and search, and the pickup instead of the PUT."""
    return _finished(
        _pos_document(), servers=_servers("pos", StackConfig.pos_port), scheme=_POS_SECURITY_SCHEME
    )


def _pos_document() -> dict[str, Any]:
    document = _ingest_document()
    document["info"] = {
        "title": "customer-order-events pos API",
        "version": "1",
        "description": (
            "The stores' POS reads the stored orders here, and records what the store did "
            "with the fulfillments assigned to it: items ready for pickup, items handed out "
            "with the payments taken. A store never changes the OMS's data: each answer and "
            "event shows the OMS's order as sent with the store's record in it (each "
            "fulfillment's `status`, each fulfillment item's `readyQuantity` and "
            "`pickedUpQuantity`, `customerOrder.tenders`). Once items are handed out, pickup "
            "beats cancellation: no OMS version that would cancel them is stored. The OMS's "
            "identities cannot call this API, nor the POS's the ingest API. Each identity "
            "reads the orders of the business units it holds and those with a fulfillment "
            "to be picked up at one of them, searches only the former, and updates only the "
            "fulfillments to be picked up at its stores (403 otherwise). Errors are "
            "`application/problem+json` (RFC 9457)."
        ),
    }
    del document["paths"][ORDER_PATH_TEMPLATE]["put"]
    schemas = document["components"]["schemas"]
    for model in (ReadyRequest, PickupRequest):
        schema, definitions = _schema(model)
        schemas.update(definitions)
        schemas[model.__name__] = schema
    schemas["TenderRequest"]["properties"]["amount"].update(
        description="Recorded and shown as the POS spelled it (at most "
        f"{MAX_AMOUNT_CHARACTERS} characters)."
    )
    order = {"$ref": _REF.format(model="CustomerOrderDocument")}
    for template, operation_id, summary, request, description in (
        (
            READY_PATH_TEMPLATE,
            "recordReady",
            "Record items of a fulfillment ready for pickup",
            "ReadyRequest",
            "Marks `items` (or, without them, everything of the fulfillment not yet picked up) "
            "ready. The fulfillment's `status` becomes `READY_FOR_PICKUP` once everything not "
            "yet picked up is ready. Announced as a `customer-order.ready-for-pickup` event.",
        ),
        (
            PICKUP_PATH_TEMPLATE,
            "recordPickup",
            "Record items handed out now, with the payments taken",
            "PickupRequest",
            "Definite: hand the goods over on a 200 only. Records `items` (or, without them, "
            "everything of the fulfillment not yet picked up) as handed out and the `tenders` "
            "taken; the fulfillment's `status` becomes `FULFILLED` once every item is picked "
            "up. The order's own `status` is the OMS's and is not changed. Announced as a "
            "`customer-order.picked-up` event. No body at all (or `{}`) is the pickup of the "
            "release before: everything of the order's one store fulfillment, a repeat "
            "answered 200; only an `updateId` protects against a second hand-out.",
        ),
    ):
        document["paths"][template] = {
            "parameters": document["paths"][ORDER_PATH_TEMPLATE]["parameters"],
            "post": {
                "operationId": operation_id,
                "summary": summary,
                "description": description + " The same `updateId` again answers the same "
                "(a retry after a 503 or a timeout resolves what was recorded); each is "
                "recorded only against the order state it was decided on.",
                "parameters": [_correlation_parameter()],
                "requestBody": {
                    "required": request == "ReadyRequest",
                    "content": {
                        "application/json": {"schema": {"$ref": _REF.format(model=request)}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "Recorded, now or before under the same `updateId`: "
                        "the order as now stored, with the store's record.",
                        "headers": _order_headers(),
                        "content": {"application/json": {"schema": order}},
                    },
                    **_errors(400, 404, 405, 409, 413, 415, 422, 503),
                },
            },
        }
    # Every pos operation is the function's to refuse: whom the token names, what it holds.
    for path_item in document["paths"].values():
        for method, operation in path_item.items():
            if method in _METHODS:
                responses = {**operation["responses"], **_errors(401, 403)}
                operation["responses"] = dict(sorted(responses.items()))
    return document


DOCUMENTS: Mapping[Any, Callable[[], dict[str, Any]]] = {
    OPENAPI_PATH: build_document,
    POS_OPENAPI_PATH: build_pos_document,
}


def render(build: Callable[[], dict[str, Any]] = build_document) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.openapi",
        description="Write the ingest and pos APIs' OpenAPI documents.",
    )
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args(argv)
    stale = False
    for path, build in DOCUMENTS.items():
        text = render(build)
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path} is stale; run `make openapi`", file=sys.stderr)
                stale = True
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
