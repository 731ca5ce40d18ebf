"""Logging with the order ids on every line.

On Cloud Run (``K_SERVICE`` is set) lines are structured JSON through
google-cloud-logging's StructuredLogHandler, so Cloud Logging indexes the ids;
elsewhere they are readable text. The ids come from a context variable set by
:func:`order_context`, so nobody has to pass them to every call. Importing this
module installs nothing: the functions call :func:`configure` at start, and the
tools, which import the domain, keep their own output.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from shared.lazy import Lazy

LOGGER_NAME = "customer_order_events"

_order_ids: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "order_ids", default=()
)


@contextlib.contextmanager
def order_context(**ids: str) -> Iterator[None]:
    """Attach ids (``businessUnitId=...``, ``customerOrderId=...``) to every line logged inside."""
    token = _order_ids.set((*_order_ids.get(), *ids.items()))
    try:
        yield
    finally:
        _order_ids.reset(token)


class OrderIdsFilter(logging.Filter):
    """Copies the ids of :func:`order_context` onto each record, for either handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = {**dict(_order_ids.get()), **getattr(record, "json_fields", {})}
        record.json_fields = fields
        record.order_ids = " ".join(f"{key}={value}" for key, value in fields.items())
        return True


def log_event(logger: logging.Logger, level: int, message: str, /, **fields: object) -> None:
    """One line with fields of its own beside the context's ids (``jsonPayload`` on Cloud Run).

    The log-based metrics count these fields, never the free text.
    """
    logger.log(level, message, extra={"json_fields": fields}, stacklevel=2)


def get_logger(name: str) -> logging.Logger:
    """A logger under the project's root; its lines go nowhere special until :func:`configure`."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def _install_handler() -> logging.Logger:
    handler = structured_handler() if os.environ.get("K_SERVICE") else text_handler()
    handler.addFilter(OrderIdsFilter())
    root = logging.getLogger(LOGGER_NAME)
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    root.propagate = False
    return root


_root = Lazy(_install_handler)


def configure() -> None:
    """Install the handler, once per process; each function's ``main.py`` calls it at start."""
    _root.get()


def text_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s %(order_ids)s")
    )
    return handler


def structured_handler(stream: TextIO | None = None) -> logging.Handler:
    from google.cloud.logging_v2.handlers import StructuredLogHandler

    handler: logging.Handler = StructuredLogHandler(  # type: ignore[no-untyped-call]
        project_id=os.environ.get("GOOGLE_CLOUD_PROJECT"), stream=stream
    )
    return handler
