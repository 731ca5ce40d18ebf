"""Schemathesis hooks for the fuzz run (``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

Two checks beyond the built-in ones: every error is a problem document that
leaks nothing of the implementation, and every exchange is recorded (to the
file named by :data:`RECORD_ENV`) so that the test can compare what got a 202
with what reached the topic.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any

import schemathesis
from hypothesis import strategies as st

from tests.fuzz.oracle import LEAK_MARKERS

RECORD_ENV = "FUZZ_RECORD_FILE"

_record_lock = threading.Lock()


@schemathesis.hook
def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case[Any]) -> Any:
    # A generated body almost never names the path's customerOrderId, so without this
    # nothing valid would ever reach Pub/Sub. Only valid cases are aligned: aligning a
    # negative one could repair it and make a correct 202 look like a failure.
    body = case.body
    order = body.get("customerOrder") if isinstance(body, dict) else None
    if (
        case.method != "PUT"
        or case.meta is None
        or case.meta.generation.mode is not schemathesis.GenerationMode.POSITIVE
        or not isinstance(order, dict)
        or "customerOrderId" not in case.path_parameters
    ):
        return st.just(case)

    def aligned(align: bool) -> schemathesis.Case[Any]:
        if align and isinstance(order, dict):
            order["customerOrderId"] = case.path_parameters["customerOrderId"]
        return case

    return st.sampled_from([True, True, True, False]).map(aligned)


@schemathesis.check
def errors_are_problem_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    text = response.content.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        if marker.lower() in text.lower():
            raise AssertionError(f"the answer leaks internals ({marker!r}): {text[:500]}")
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.split(";")[0].strip() != "application/problem+json":
        raise AssertionError(f"error {response.status_code} is {content_type!r}, not problem+json")
    if response.request.method == "HEAD":
        return None
    document = json.loads(response.content)
    if not isinstance(document, dict) or document.get("status") != response.status_code:
        raise AssertionError(f"problem status differs from {response.status_code}: {text[:500]}")
    if not str(document.get("type", "")).startswith("urn:customer-order-events:problem:"):
        raise AssertionError(f"unknown problem type: {text[:500]}")
    return None


@schemathesis.check
def record_exchange(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    path = os.environ.get(RECORD_ENV)
    if not path:
        return None
    request = response.request
    body = request.body
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    line = json.dumps(
        {
            "method": request.method,
            "url": request.url,
            "request": base64.b64encode(raw).decode("ascii"),
            "status": response.status_code,
            "answer": base64.b64encode(response.content).decode("ascii"),
            "correlationId": (response.headers.get("correlation-id") or [""])[0],
            "sourceVersion": request.headers.get("Source-Version"),
        }
    )
    with _record_lock, open(path, "a", encoding="utf-8") as record:
        record.write(line + "\n")
    return None
