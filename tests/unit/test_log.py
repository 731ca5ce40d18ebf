from __future__ import annotations

import io
import json
import logging

import pytest

from shared.log import OrderIdsFilter, order_context, structured_handler, text_handler


@pytest.fixture
def logger() -> logging.Logger:
    logger = logging.getLogger("tests.unit.test_log")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _emit(logger: logging.Logger, handler: logging.Handler, message: str) -> str:
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    handler.addFilter(OrderIdsFilter())
    logger.addHandler(handler)
    try:
        with order_context(businessUnitId="BU1"), order_context(customerOrderId="CO-1"):
            logger.info(message)
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_readable_lines_carry_the_order_ids(logger: logging.Logger) -> None:
    inside, outside = _emit(logger, text_handler(), "stored").splitlines()
    assert inside.endswith("stored businessUnitId=BU1 customerOrderId=CO-1")
    assert outside.endswith("outside ")


def test_structured_lines_carry_the_order_ids_as_json_fields(logger: logging.Logger) -> None:
    lines = [
        json.loads(line) for line in _emit(logger, structured_handler(), "stored").splitlines()
    ]
    # The handler also writes its own instrumentation line once; only ours matter here.
    inside, outside = (line for line in lines if line.get("message") in ("stored", "outside"))
    assert inside["message"] == "stored"
    assert inside["severity"] == "INFO"
    assert (inside["businessUnitId"], inside["customerOrderId"]) == ("BU1", "CO-1")
    assert "businessUnitId" not in outside
