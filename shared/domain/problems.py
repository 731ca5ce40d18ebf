"""RFC 9457 problem documents (``application/problem+json``) for every error the API answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.domain.jsonbody import FieldViolation
from shared.errors import CustomerOrderEventsError

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "urn:customer-order-events:problem:"

# Problem types by slug: the URI a client can switch on, and its fixed title.
PROBLEM_TITLES: Mapping[str, str] = {
    "malformed-json": "The body is not valid JSON",
    "invalid-id": "An id in the path is invalid",
    "invalid-header": "A request header is invalid",
    "validation-failed": "The customer order does not match the schema",
    "invalid-search": "The search request is invalid",
    "invalid-store-update": "The store update is invalid",
    "order-cancelled": "The order is cancelled: it must not be handed out",
    "already-picked-up": "Items asked for were picked up already: do not hand them out again",
    "already-ready": "Everything asked for is ready for pickup already",
    "more-than-remains": "More than remains of the fulfillment",
    "unknown-item": "The fulfillment holds no such item",
    "fulfillment-not-found": "The order has no such fulfillment (any more)",
    "fulfillment-required": "Name the fulfillment: the order has several in stores",
    "warehouse-fulfillment": "The fulfillment is delivered from the warehouse",
    "update-id-reused": "The updateId was recorded for another update",
    "tender-recorded": "The tender is recorded already",
    "store-update-refused": "The order's new state cannot be stored",
    "unauthenticated": "The request carries no verifiable ID token",
    "forbidden": "The caller does not hold this business unit",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "payload-too-large": "The body is too large",
    "unsupported-media-type": "The body must be JSON",
    "publish-unavailable": "The change could not be accepted right now",
    "store-unavailable": "The order store is unavailable right now",
    "internal-error": "Internal error",
}


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    slug: str
    detail: str
    errors: tuple[FieldViolation, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return _TYPE_BASE + self.slug

    @property
    def title(self) -> str:
        return PROBLEM_TITLES[self.slug]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            document["errors"] = [
                {"pointer": error.pointer, "detail": error.detail} for error in self.errors
            ]
        return document


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: Iterable[FieldViolation] = (),
    headers: Mapping[str, str] | None = None,
) -> Problem:
    if slug not in PROBLEM_TITLES:
        raise KeyError(f"unknown problem type {slug!r}")
    return Problem(status, slug, detail, tuple(errors), dict(headers or {}))


class Rejected(CustomerOrderEventsError):
    """A request the API refuses; ``problem`` is the answer the caller gets."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem
