"""One API: its operations by resource and method, and what every request gets whatever it asks.

Every answer carries the request's ``Correlation-Id``; every refusal is one log
line whose fields the log-based metrics count (``terraform/log_metrics.tf``); a
bug answers problem+json, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.api.routing import Resource, Route, not_found, route
from shared.domain.access import Caller
from shared.domain.correlation import HEADER as CORRELATION_HEADER
from shared.domain.correlation import correlation_id
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.problems import Rejected, problem
from shared.errors import InvalidCorrelationId, one_line
from shared.log import get_logger, log_event, order_context

if TYPE_CHECKING:
    from shared.api.access import Authenticator


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What every operation is told besides the request: its correlation id and its caller."""

    correlation_id: str
    caller: Caller


# The ``identity`` of a refusal whose caller proved none (a 401, or a 503 before it could).
UNVERIFIED_IDENTITY = "unverified"

# The answer to one request of an operation: the request, its route, its context.
Handler = Callable[[HttpRequest, Route, RequestContext], HttpResponse]


@dataclass(frozen=True, slots=True)
class Operation:
    # The ``event`` field of the operation's log lines (terraform/log_metrics.tf counts it).
    event: str
    handler: Handler


class ApiService:
    """Routes each request to its operation; ``operations`` says what this API serves."""

    def __init__(
        self,
        operations: Mapping[Resource, Mapping[str, Operation]],
        *,
        logger: str,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._operations = operations
        self._log = get_logger(logger)
        # Without an authenticator (the OMS's API) whoever Cloud Run let in holds everything;
        # with one, each request is its caller or a 401, and nothing else runs.
        self._authenticator = authenticator
        self._everything = Caller.everything(logger)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The answer to ``request``, with its ``Correlation-Id``, however it went."""
        event = self._event_of(request.method)
        try:
            correlation = correlation_id(request.header(CORRELATION_HEADER))
        except InvalidCorrelationId as exc:
            correlation = correlation_id(None)
            with order_context(correlationId=correlation):
                answer = self._refused(event, Rejected(problem(400, "invalid-header", str(exc))))
        else:
            with order_context(correlationId=correlation):
                answer = self._answer(request, event, correlation)
        return answer.with_headers({CORRELATION_HEADER: correlation})

    def _event_of(self, method: str) -> str:
        # Before routing, the method is all there is: the first operation that has it.
        wanted = "GET" if method == "HEAD" else method
        for methods in self._operations.values():
            if wanted in methods:
                return methods[wanted].event
        return "request"

    def _answer(self, request: HttpRequest, event: str, correlation: str) -> HttpResponse:
        try:
            caller = self._caller(request)
        except Rejected as rejected:
            return self._refused(event, rejected, UNVERIFIED_IDENTITY)
        identity = caller.identity if self._authenticator is not None else None
        try:
            target = route(request.raw_path, self._operations)
            methods = self._operations.get(target.resource)
            if methods is None:
                raise not_found(self._operations)
        except Rejected as rejected:
            return self._refused(event, rejected, identity)
        operation = methods.get("GET" if request.method == "HEAD" else request.method)
        if operation is not None:
            event = operation.event
        # Inside the ids' context, so that every line of the request, refusals included,
        # can be found by order.
        with order_context(**target.ids):
            try:
                if operation is None:
                    raise method_not_allowed(request.method, allowed(methods))
                return operation.handler(request, target, RequestContext(correlation, caller))
            except Rejected as rejected:
                return self._refused(event, rejected, identity)
            except Exception:  # noqa: BLE001
                # A bug must still answer problem+json, and never with the traceback.
                self._log.exception(
                    "unexpected error",
                    extra={"json_fields": {"event": event, "outcome": "failed", "httpStatus": 500}},
                )
                return HttpResponse.from_problem(
                    problem(
                        500, "internal-error", "the request failed; it is logged for the operators"
                    )
                )

    def _caller(self, request: HttpRequest) -> Caller:
        if self._authenticator is None:
            return self._everything
        return self._authenticator.authenticate(request)

    def _refused(self, event: str, rejected: Rejected, identity: str | None = None) -> HttpResponse:
        refusal = rejected.problem
        unavailable = refusal.status >= 500
        # The cause (a Pub/Sub or Firestore error) is for the operators, never the caller.
        cause = f": {one_line(rejected.__cause__)}" if rejected.__cause__ else ""
        # Who was refused, where the API knows its callers: terraform/observability.tf
        # counts the 401s and 403s by it.
        who = {} if identity is None else {"identity": identity}
        log_event(
            self._log,
            logging.WARNING if unavailable else logging.INFO,
            f"refused {refusal.status} {refusal.slug}: {refusal.detail}{cause}",
            event=event,
            outcome="unavailable" if unavailable else "refused",
            problemType=refusal.slug,
            httpStatus=refusal.status,
            **who,
        )
        return HttpResponse.from_problem(refusal)


def allowed(methods: Mapping[str, Operation]) -> str:
    """The ``Allow`` header of a resource: HEAD wherever GET is."""
    names = set(methods)
    if "GET" in names:
        names.add("HEAD")
    return ", ".join(sorted(names))


def method_not_allowed(method: str, allowed_methods: str) -> Rejected:
    return Rejected(
        problem(
            405,
            "method-not-allowed",
            f"{method} is not supported here; use {allowed_methods}",
            headers={"Allow": allowed_methods},
        )
    )
