"""Helpers shared by the tests: sample orders, polling, and reading the emulators."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_BODY: dict[str, Any] = json.loads((FIXTURES / "customer-order.json").read_text())


def unique_id(prefix: str = "CO") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def order_body(customer_order_id: str, **changes: Any) -> dict[str, Any]:
    """The sample PUT body for ``customer_order_id``, with top-level order fields changed."""
    body = copy.deepcopy(SAMPLE_BODY)
    body["customerOrder"]["customerOrderId"] = customer_order_id
    body["customerOrder"].update(changes)
    return body


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 20.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
