"""The OpenAPI 3.1 document of the ingest API, built from the pydantic models.

``make openapi`` writes it to ``functions/ingest/openapi.json``; a test fails
when the committed file and this module disagree, and the fuzz tests drive the
real ingest function from it and check every answer against it. So the order
schema has one source (:mod:`shared.domain.model`), and the answers are described by
the small typed documents below, which the fuzz tests hold the code to.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any, NotRequired

from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from shared.domain.addresses import ORDER_PATH_TEMPLATE
from shared.domain.http import MAX_BODY_BYTES
from shared.domain.ids import MAX_ID_LENGTH
from shared.domain.jsonbody import MAX_FIRESTORE_DEPTH
from shared.domain.model import CustomerOrderDocument
from shared.domain.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TITLES, Problem
from shared.tools.functions import REPO_ROOT

OPENAPI_PATH = REPO_ROOT / "functions" / "ingest" / "openapi.json"
_REF = "#/components/schemas/{model}"

# The problem types each error status can carry; the fuzz tests hold the service to it.
PROBLEM_SLUGS_BY_STATUS: Mapping[int, tuple[str, ...]] = {
    400: ("malformed-json", "invalid-id"),
    404: ("not-found",),
    405: ("method-not-allowed",),
    413: ("payload-too-large",),
    415: ("unsupported-media-type",),
    422: ("validation-failed",),
    503: ("publish-unavailable", "store-unavailable"),
}

_STATUS_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed JSON (also duplicate member names, NaN or Infinity, invalid UTF-8, "
    "a byte-order mark) or an invalid id in the path; `errors` names the id.",
    404: "No such resource: any other path, or (GET) no order stored under these ids.",
    405: "Any other method on an order path; `Allow` lists the supported ones.",
    413: f"The body is over 1 MiB ({MAX_BODY_BYTES} bytes), with or without Content-Length.",
    415: "The body is not JSON, or its Content-Type is neither JSON nor absent "
    "(curl's default `application/x-www-form-urlencoded` is accepted when the body is JSON).",
    422: "The body breaks the customer order schema, cannot be stored in Firestore, or its "
    "`customerOrderId` differs from the path; `errors` lists every violation as a JSON pointer.",
    503: "Pub/Sub did not confirm the publish (PUT) or Firestore did not answer (GET) in time; "
    "send the request again after `Retry-After` seconds. A PUT answered 503 may or may not "
    "have been published: sending it again is safe, the newest `receivedAt` wins.",
}

# Ids become Firestore document ids and one path segment each. JSON Schema cannot say
# "printable" (Python's str.isprintable), so the pattern is looser than the rule: every
# valid id matches it, and the service rejects the rest with 400.
ID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_LENGTH,
    "pattern": "^[^/\\u0000-\\u001f\\u007f]+$",
    "not": {"anyOf": [{"enum": [".", ".."]}, {"pattern": "^__.*__$"}]},
    "description": f"1 to {MAX_ID_LENGTH} printable characters, without `/`, not `.` or `..`, "
    "and not of the form `__name__` (reserved by Firestore). Percent-encode it in the path.",
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
        "as sent. Beyond the schema, Firestore's limits apply to every member: nesting at "
        f"most {MAX_FIRESTORE_DEPTH} deep, no array directly inside an array, integers "
        "within 64 bits, finite numbers, non-empty member names not of the form `__name__`, "
        "and no unpaired surrogates."
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
    if status == 405:
        response["headers"] = {"Allow": {"$ref": "#/components/headers/Allow"}}
    if status == 503:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"} for status in statuses}


def _order_headers() -> dict[str, Any]:
    return {
        "ETag": {
            "description": "The exact `receivedAt` of the stored version, quoted.",
            "schema": {"type": "string"},
        },
        "Received-At": {
            "description": "The exact `receivedAt` of the stored version.",
            "schema": {"type": "string", "format": "date-time"},
        },
        "Last-Modified": {
            "description": "`receivedAt` to the second.",
            "schema": {"type": "string"},
        },
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, deterministic so that the committed file can be compared."""
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
                "one received last (`receivedAt`) wins. Errors are `application/problem+json` "
                "(RFC 9457) and never carry internal details."
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
                    "requestBody": {"required": True, "content": order_content},
                    "responses": {
                        "202": {
                            "description": "Published and confirmed by Pub/Sub.",
                            "headers": {
                                "Location": {
                                    "description": "The order's path, for the GET.",
                                    "schema": {"type": "string"},
                                }
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
                    "responses": {
                        "200": {
                            "description": "The stored order, as it was sent.",
                            "headers": _order_headers(),
                            "content": order_content,
                        },
                        **_errors(400, 404, 405, 503),
                    },
                },
            }
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
                "RetryAfter": {
                    "description": "Seconds to wait before sending again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
            },
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.openapi",
        description="Write the ingest API's OpenAPI document.",
    )
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
        if current != text:
            print(f"{OPENAPI_PATH} is stale; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
