"""The ingest API: route, validate, stamp ``receivedAt``, publish, answer; GET and search.

The HTTP function's ``main.py`` only converts a Flask request into an
:class:`~shared.domain.http.HttpRequest` and the :class:`~shared.domain.http.HttpResponse`
back; everything the API promises is decided here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from shared.domain.addresses import (
    ORDER_PATH,
    ORDER_PATH_TEMPLATE,
    SEARCH_PATH,
    SEARCH_PATH_TEMPLATE,
    order_location,
)
from shared.domain.conflict import parse_source_version
from shared.domain.correlation import HEADER as CORRELATION_HEADER
from shared.domain.correlation import correlation_id
from shared.domain.http import HttpRequest, HttpResponse, media_type, read_body
from shared.domain.ids import id_violation, utf8_size
from shared.domain.jsonbody import FieldViolation, json_pointer, parse_json
from shared.domain.limits import MAX_BODY_BYTES, MAX_PROJECTED_BYTES
from shared.domain.messages import OrderMessage
from shared.domain.model import CustomerOrderDocument, validate_document, validate_search
from shared.domain.problems import problem
from shared.domain.search import after_of, page_token
from shared.domain.timestamps import ReceivedAtClock, format_timestamp
from shared.errors import (
    BodyTooLarge,
    InvalidCorrelationId,
    InvalidPageToken,
    InvalidSourceVersion,
    MalformedJson,
    PublishFailed,
    Rejected,
    StoreUnavailable,
    one_line,
)
from shared.log import get_logger, log_event, order_context
from shared.ports import OrderPublisher, OrderStore

SOURCE_VERSION_HEADER = "Source-Version"
ORDER_METHODS = "GET, HEAD, PUT"
# The ``event`` field of each request's log line, by method (terraform/log_metrics.tf counts it).
_EVENTS = {"PUT": "put", "GET": "get", "HEAD": "get", "POST": "search"}
SEARCH_METHODS = "POST"
# A search body holds one customer id and a page token; nothing legitimate comes near this.
MAX_SEARCH_BODY_BYTES = 16 * 1024
# curl -d sends this type unless told otherwise; a JSON body under it is accepted.
_LENIENT_TYPES = frozenset({None, "application/x-www-form-urlencoded"})

_log = get_logger("ingest")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Route:
    business_unit_id: str
    # None for the search, which addresses the business unit's collection.
    customer_order_id: str | None


class IngestService:
    def __init__(
        self,
        publisher: OrderPublisher,
        store: OrderStore,
        *,
        retry_after_seconds: int,
        clock: ReceivedAtClock | None = None,
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._retry_after = str(retry_after_seconds)
        self._clock = clock or ReceivedAtClock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The answer to ``request``, with its ``Correlation-Id``, however it went."""
        event = _EVENTS.get(request.method, "request")
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

    def _answer(self, request: HttpRequest, event: str, correlation: str) -> HttpResponse:
        try:
            target = route(request.raw_path)
        except Rejected as rejected:
            return self._refused(event, rejected)
        ids = {"businessUnitId": target.business_unit_id}
        if target.customer_order_id is not None:
            ids["customerOrderId"] = target.customer_order_id
        # Inside the ids' context, so that every line of the request, refusals included,
        # can be found by order.
        with order_context(**ids):
            try:
                if target.customer_order_id is None:
                    return self._search_resource(request, target.business_unit_id)
                return self._order_resource(
                    request, target.business_unit_id, target.customer_order_id, correlation
                )
            except Rejected as rejected:
                return self._refused(event, rejected)
            except Exception:  # noqa: BLE001
                # A bug must still answer problem+json, and never with the traceback.
                _log.exception(
                    "unexpected error",
                    extra={"json_fields": {"event": event, "outcome": "failed", "httpStatus": 500}},
                )
                return HttpResponse.from_problem(
                    problem(
                        500, "internal-error", "the request failed; it is logged for the operators"
                    )
                )

    @staticmethod
    def _refused(event: str, rejected: Rejected) -> HttpResponse:
        refusal = rejected.problem
        unavailable = refusal.status >= 500
        # The cause (a Pub/Sub or Firestore error) is for the operators, never the caller.
        cause = f": {one_line(rejected.__cause__)}" if rejected.__cause__ else ""
        log_event(
            _log,
            logging.WARNING if unavailable else logging.INFO,
            f"refused {refusal.status} {refusal.slug}: {refusal.detail}{cause}",
            event=event,
            outcome="unavailable" if unavailable else "refused",
            problemType=refusal.slug,
            httpStatus=refusal.status,
        )
        return HttpResponse.from_problem(refusal)

    def _order_resource(
        self,
        request: HttpRequest,
        business_unit_id: str,
        customer_order_id: str,
        correlation: str,
    ) -> HttpResponse:
        if request.method == "PUT":
            return self._put(request, business_unit_id, customer_order_id, correlation)
        if request.method in ("GET", "HEAD"):
            return self._get(request, business_unit_id, customer_order_id)
        raise _method_not_allowed(request.method, ORDER_METHODS)

    def _search_resource(self, request: HttpRequest, business_unit_id: str) -> HttpResponse:
        if request.method != "POST":
            raise _method_not_allowed(request.method, SEARCH_METHODS)
        return self._search(request, business_unit_id)

    def _put(
        self,
        request: HttpRequest,
        business_unit_id: str,
        customer_order_id: str,
        correlation: str,
    ) -> HttpResponse:
        received_at = self._clock.now()
        source_version = _source_version(request)
        raw, parsed = read_json(request, limit=MAX_BODY_BYTES)
        document = validate_body(parsed, customer_order_id)
        message = OrderMessage.accepted(
            business_unit_id,
            customer_order_id,
            received_at,
            raw,
            customer_id=document.customer_order.customer_id,
            status=document.customer_order.status,
            source_version=source_version,
            correlation_id=correlation,
        )
        try:
            message_id = self._publisher.publish(message)
        except PublishFailed as exc:
            raise Rejected(
                problem(
                    503,
                    "publish-unavailable",
                    "Pub/Sub did not confirm the publish in time; send the order again",
                    headers={"Retry-After": self._retry_after},
                )
            ) from exc
        received = format_timestamp(received_at)
        log_event(
            _log,
            logging.INFO,
            f"accepted messageId={message_id} {message.version}",
            event="put",
            outcome="accepted",
            httpStatus=202,
        )
        return HttpResponse.json(
            202,
            {
                "businessUnitId": business_unit_id,
                "customerOrderId": customer_order_id,
                "messageId": message_id,
                "receivedAt": received,
            },
            {
                "Location": order_location(business_unit_id, customer_order_id),
                # The ETag GET will answer once this version is stored.
                "ETag": _etag(message.body_sha256),
            },
        )

    def _get(
        self, request: HttpRequest, business_unit_id: str, customer_order_id: str
    ) -> HttpResponse:
        stored = self._read(lambda: self._store.get(business_unit_id, customer_order_id))
        if stored is None:
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {customer_order_id!r} is stored "
                    f"for business unit {business_unit_id!r}",
                )
            )
        etag = _etag(stored.body_sha256)
        received = format_timestamp(stored.received_at)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(stored.received_at, usegmt=True),
            # Last-Modified has whole seconds; the exact version is here.
            "Received-At": received,
            "Cache-Control": "no-store",
        }
        if stored.source_version is not None:
            headers[SOURCE_VERSION_HEADER] = str(stored.source_version)
        if _matches(request.header("If-None-Match"), etag):
            return HttpResponse(304, b"", headers)
        return HttpResponse(200, stored.body, {"Content-Type": "application/json", **headers})

    def _search(self, request: HttpRequest, business_unit_id: str) -> HttpResponse:
        _, parsed = read_json(request, limit=MAX_SEARCH_BODY_BYTES)
        try:
            search = validate_search(parsed)
        except ValidationError as exc:
            raise Rejected(
                problem(
                    422,
                    "invalid-search",
                    f"{exc.error_count()} field(s) do not match the search request schema",
                    errors=_violations(exc),
                )
            ) from None
        customer_id = search.customer_id
        after = None
        if search.page_token is not None:
            try:
                after = after_of(search.page_token, customer_id)
            except InvalidPageToken as exc:
                raise Rejected(
                    problem(
                        422,
                        "invalid-search",
                        "the page token does not belong to this search",
                        errors=[FieldViolation("/pageToken", str(exc))],
                    )
                ) from None
        # One more than the page, to know whether another page follows.
        found = self._read(
            lambda: self._store.find_by_customer(
                business_unit_id, customer_id, limit=search.page_size + 1, after=after
            )
        )
        page = found[: search.page_size]
        answer: dict[str, Any] = {
            "customerOrders": [
                {
                    "customerOrderId": order.customer_order_id,
                    "customerId": order.customer_id,
                    "status": order.status,
                }
                for order in page
            ]
        }
        if len(found) > len(page):
            answer["nextPageToken"] = page_token(customer_id, page[-1].customer_order_id)
        log_event(
            _log,
            logging.INFO,
            f"searched a customer's orders: {len(page)} found",
            event="search",
            outcome="answered",
            httpStatus=200,
        )
        return HttpResponse.json(200, answer, {"Cache-Control": "no-store"})

    def _read(self, read: Callable[[], T]) -> T:
        """What ``read`` returns from the store, or a 503 problem when Firestore is out of reach."""
        try:
            return read()
        except StoreUnavailable as exc:
            raise Rejected(
                problem(
                    503,
                    "store-unavailable",
                    "Firestore did not answer; try again",
                    headers={"Retry-After": self._retry_after},
                )
            ) from exc


def _source_version(request: HttpRequest) -> int | None:
    header = request.header(SOURCE_VERSION_HEADER)
    if header is None:
        return None
    try:
        return parse_source_version(header)
    except InvalidSourceVersion as exc:
        raise Rejected(problem(400, "invalid-header", str(exc))) from None


def _etag(body_sha256: str) -> str:
    return f'"{body_sha256}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _method_not_allowed(method: str, allowed: str) -> Rejected:
    return Rejected(
        problem(
            405,
            "method-not-allowed",
            f"{method} is not supported here; use {allowed}",
            headers={"Allow": allowed},
        )
    )


def route(raw_path: str) -> Route:
    """The ids a path addresses, percent-decoded and checked; or a 404/400 problem."""
    path = urlsplit(raw_path).path if "://" in raw_path else raw_path.split("?", 1)[0]
    if (match := ORDER_PATH.fullmatch(path)) is not None:
        business_unit_id, customer_order_id = _ids(
            ("businessUnitId", match["bu"]), ("customerOrderId", match["order"])
        )
        return Route(business_unit_id, customer_order_id)
    if (match := SEARCH_PATH.fullmatch(path)) is not None:
        [business_unit_id] = _ids(("businessUnitId", match["bu"]))
        return Route(business_unit_id, None)
    raise Rejected(
        problem(
            404,
            "not-found",
            f"no such resource; orders live at {ORDER_PATH_TEMPLATE}, "
            f"and the search by customer at {SEARCH_PATH_TEMPLATE}",
        )
    )


def _ids(*segments: tuple[str, str]) -> list[str]:
    violations = []
    ids = []
    for name, segment in segments:
        try:
            value = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            violations.append(FieldViolation(f"/{name}", "is not percent-encoded UTF-8"))
            continue
        reason = id_violation(value)
        if reason is not None:
            violations.append(FieldViolation(f"/{name}", reason))
        ids.append(value)
    if violations:
        raise Rejected(
            problem(400, "invalid-id", "the path holds an invalid id", errors=violations)
        )
    return ids


def read_json(request: HttpRequest, *, limit: int) -> tuple[bytes, Any]:
    """The body as sent and as parsed, or a 413/415/400 problem."""
    kind, parameters = media_type(request.content_type)
    is_json = kind is not None and (kind == "application/json" or kind.endswith("+json"))
    if not is_json and kind not in _LENIENT_TYPES:
        raise Rejected(
            problem(
                415,
                "unsupported-media-type",
                f"Content-Type {kind} is not JSON; send application/json",
            )
        )
    if parameters.get("charset", "utf-8") != "utf-8":
        raise Rejected(problem(415, "unsupported-media-type", "JSON must be UTF-8"))
    try:
        raw = read_body(request.body, request.content_length, limit=limit)
    except BodyTooLarge:
        raise Rejected(
            problem(413, "payload-too-large", f"the body must be at most {limit} bytes")
        ) from None
    try:
        return raw, parse_json(raw)
    except MalformedJson as exc:
        if is_json:
            raise Rejected(problem(400, "malformed-json", str(exc))) from None
        raise Rejected(
            problem(
                415,
                "unsupported-media-type",
                f"the body is not JSON ({exc}); send application/json",
            )
        ) from None


def validate_body(body: Any, customer_order_id: str) -> CustomerOrderDocument:
    """The validated PUT body, or a 422 problem listing every violation.

    Beyond the schema, only what the topic and the store need of the body is
    checked: the projections ``customerId`` and ``status`` must fit a Pub/Sub
    attribute (and an index entry) and have a UTF-8 form.
    """
    try:
        document = validate_document(body)
    except ValidationError as exc:
        raise Rejected(
            problem(
                422,
                "validation-failed",
                f"{exc.error_count()} field(s) do not match the customer order schema",
                errors=_violations(exc),
            )
        ) from None
    order = document.customer_order
    violations = []
    if order.customer_order_id != customer_order_id:
        violations.append(
            FieldViolation(
                "/customerOrder/customerOrderId", "must equal the customerOrderId of the path"
            )
        )
    for member, value in (("customerId", order.customer_id), ("status", order.status)):
        reason = _projection_violation(value)
        if reason is not None:
            violations.append(FieldViolation(f"/customerOrder/{member}", reason))
    if violations:
        raise Rejected(
            problem(
                422,
                "validation-failed",
                "the customer order cannot be accepted as sent",
                errors=violations,
            )
        )
    return document


def _projection_violation(value: str) -> str | None:
    size = utf8_size(value)
    if size is None:
        return "must be valid UTF-8 (it contains an unpaired surrogate)"
    if size > MAX_PROJECTED_BYTES:
        return (
            f"must be at most {MAX_PROJECTED_BYTES} bytes of UTF-8, not {size} "
            "(it travels as a Pub/Sub attribute and is stored beside the order)"
        )
    return None


def _violations(exc: ValidationError) -> list[FieldViolation]:
    return [
        FieldViolation(json_pointer(tuple(error["loc"])), error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
