"""The ingest API: route, validate, stamp ``receivedAt``, publish, answer.

The HTTP function's ``main.py`` only converts a Flask request into an
:class:`~shared.domain.http.HttpRequest` and the :class:`~shared.domain.http.HttpResponse`
back; everything the API promises is decided here.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from shared.domain.addresses import ORDER_PATH, ORDER_PATH_TEMPLATE, order_location
from shared.domain.http import HttpRequest, HttpResponse, media_type, read_body
from shared.domain.ids import id_violation
from shared.domain.jsonbody import FieldViolation, json_pointer, parse_json, storage_violations
from shared.domain.messages import OrderMessage
from shared.domain.model import validate_document
from shared.domain.problems import problem
from shared.domain.timestamps import ReceivedAtClock, format_timestamp
from shared.errors import BodyTooLarge, MalformedJson, PublishFailed, Rejected, StoreUnavailable
from shared.log import get_logger, order_context
from shared.ports import OrderPublisher, OrderStore

ALLOWED_METHODS = "GET, HEAD, PUT"
# curl -d sends this type unless told otherwise; a JSON body under it is accepted.
_LENIENT_TYPES = frozenset({None, "application/x-www-form-urlencoded"})

_log = get_logger("ingest")


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
        try:
            business_unit_id, customer_order_id = route(request.raw_path)
            with order_context(businessUnitId=business_unit_id, customerOrderId=customer_order_id):
                if request.method == "PUT":
                    return self._put(request, business_unit_id, customer_order_id)
                if request.method in ("GET", "HEAD"):
                    return self._get(business_unit_id, customer_order_id)
                raise Rejected(
                    problem(
                        405,
                        "method-not-allowed",
                        f"{request.method} is not supported here; use one of {ALLOWED_METHODS}",
                        headers={"Allow": ALLOWED_METHODS},
                    )
                )
        except Rejected as rejected:
            return HttpResponse.from_problem(rejected.problem)
        except Exception:  # noqa: BLE001
            # A bug must still answer problem+json, and never with the traceback.
            _log.exception("unexpected error")
            return HttpResponse.from_problem(
                problem(500, "internal-error", "the request failed; it is logged for the operators")
            )

    def _put(
        self, request: HttpRequest, business_unit_id: str, customer_order_id: str
    ) -> HttpResponse:
        received_at = self._clock.now()
        body = parse_body(request)
        customer_order = validate_body(body, customer_order_id)
        message = OrderMessage(business_unit_id, customer_order_id, received_at, customer_order)
        try:
            message_id = self._publisher.publish(message)
        except PublishFailed as exc:
            _log.error("publish failed: %s", exc)
            raise Rejected(
                problem(
                    503,
                    "publish-unavailable",
                    "Pub/Sub did not confirm the publish in time; send the order again",
                    headers={"Retry-After": self._retry_after},
                )
            ) from exc
        received = format_timestamp(received_at)
        _log.info("accepted messageId=%s receivedAt=%s", message_id, received)
        return HttpResponse.json(
            202,
            {
                "businessUnitId": business_unit_id,
                "customerOrderId": customer_order_id,
                "messageId": message_id,
                "receivedAt": received,
            },
            {"Location": order_location(business_unit_id, customer_order_id)},
        )

    def _get(self, business_unit_id: str, customer_order_id: str) -> HttpResponse:
        try:
            stored = self._store.get(business_unit_id, customer_order_id)
        except StoreUnavailable as exc:
            _log.error("read failed: %s", exc)
            raise Rejected(
                problem(
                    503,
                    "store-unavailable",
                    "Firestore did not answer; try again",
                    headers={"Retry-After": self._retry_after},
                )
            ) from exc
        if stored is None:
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {customer_order_id!r} is stored "
                    f"for business unit {business_unit_id!r}",
                )
            )
        received = format_timestamp(stored.received_at)
        return HttpResponse.json(
            200,
            {"customerOrder": stored.customer_order},
            {
                "Last-Modified": format_datetime(stored.received_at, usegmt=True),
                # Last-Modified has whole seconds; the exact version is here.
                "ETag": f'"{received}"',
                "Received-At": received,
                "Cache-Control": "no-store",
            },
        )


def route(raw_path: str) -> tuple[str, str]:
    """The two ids of an order path, percent-decoded and checked; or a 404/400 problem."""
    path = urlsplit(raw_path).path if "://" in raw_path else raw_path.split("?", 1)[0]
    match = ORDER_PATH.fullmatch(path)
    if match is None:
        raise Rejected(
            problem(
                404,
                "not-found",
                f"no such resource; orders live at {ORDER_PATH_TEMPLATE}",
            )
        )
    violations = []
    ids = []
    for name, segment in (("businessUnitId", match["bu"]), ("customerOrderId", match["order"])):
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
    return ids[0], ids[1]


def parse_body(request: HttpRequest) -> Any:
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
        raw = read_body(request.body, request.content_length)
    except BodyTooLarge:
        raise Rejected(
            problem(413, "payload-too-large", "the body must be at most 1 MiB (1048576 bytes)")
        ) from None
    try:
        return parse_json(raw)
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


def validate_body(body: Any, customer_order_id: str) -> dict[str, Any]:
    """The ``customerOrder`` of a parsed PUT body, or a 422 problem listing every violation."""
    try:
        document = validate_document(body)
    except ValidationError as exc:
        raise Rejected(
            problem(
                422,
                "validation-failed",
                f"{exc.error_count()} field(s) do not match the customer order schema",
                errors=[
                    FieldViolation(json_pointer(tuple(error["loc"])), error["msg"])
                    for error in exc.errors(include_url=False, include_input=False)
                ],
            )
        ) from None
    violations = storage_violations(body)
    if document.customer_order.customer_order_id != customer_order_id:
        violations.insert(
            0,
            FieldViolation(
                "/customerOrder/customerOrderId", "must equal the customerOrderId of the path"
            ),
        )
    if violations:
        raise Rejected(
            problem(
                422,
                "validation-failed",
                "the customer order cannot be accepted as sent",
                errors=violations,
            )
        )
    customer_order: dict[str, Any] = body["customerOrder"]
    return customer_order
