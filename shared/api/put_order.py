"""``PUT .../customer-orders/{id}``: validate, stamp ``receivedAt``, publish, and only then 202."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from shared.api.bodies import read_json, schema_violations
from shared.api.routing import Route
from shared.api.service import RequestContext
from shared.api.unavailable import publish_unavailable
from shared.domain.addresses import order_location
from shared.domain.conflict import parse_source_version
from shared.domain.events import MAX_STORE_ATTRIBUTES
from shared.domain.fulfillments import (
    Fulfillment,
    fulfillment_violations,
    fulfillments_of,
    pickup_stores,
)
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.ids import utf8_size
from shared.domain.jsonbody import FieldViolation
from shared.domain.limits import FIRESTORE_MAX_DOCUMENT_BYTES, MAX_BODY_BYTES, MAX_PROJECTED_BYTES
from shared.domain.messages import OrderMessage
from shared.domain.model import CustomerOrder, CustomerOrderDocument, validate_document
from shared.domain.problems import Rejected, problem
from shared.domain.search_fields import CUSTOMER_ORDER, search_fields_of, searchable_value_violation
from shared.domain.search_index import index_cost, index_cost_violation
from shared.domain.stored_order import document_size, store_record_reserve
from shared.domain.timestamps import ReceivedAtClock, format_timestamp
from shared.errors import InvalidSourceVersion, PublishFailed
from shared.log import get_logger, log_event
from shared.ports import OrderPublisher

SOURCE_VERSION_HEADER = "Source-Version"

_log = get_logger("ingest")


class PutOrder:
    def __init__(
        self,
        publisher: OrderPublisher,
        *,
        retry_after_seconds: int,
        clock: ReceivedAtClock | None = None,
    ) -> None:
        self._publisher = publisher
        self._retry_after = retry_after_seconds
        self._clock = clock or ReceivedAtClock()

    def __call__(
        self, request: HttpRequest, target: Route, context: RequestContext
    ) -> HttpResponse:
        business_unit_id, customer_order_id = target.business_unit_id, target.order_id
        received_at = self._clock.now()
        source_version = _source_version(request)
        raw, parsed = read_json(request, limit=MAX_BODY_BYTES)
        document = validate_body(parsed, business_unit_id, customer_order_id, body_bytes=len(raw))
        message = OrderMessage.accepted(
            business_unit_id,
            customer_order_id,
            received_at,
            raw,
            customer_id=document.customer_order.customer_id,
            status=document.customer_order.status,
            source_version=source_version,
            correlation_id=context.correlation_id,
        )
        try:
            message_id = self._publisher.publish(message)
        except PublishFailed as exc:
            raise publish_unavailable(self._retry_after, "order") from exc
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
                "receivedAt": format_timestamp(received_at),
            },
            {
                "Location": order_location(business_unit_id, customer_order_id),
                # The SHA-256 of the body: GET's OMS-Body-SHA256 once this version is
                # stored, and its ETag while no store has recorded anything.
                "ETag": etag(message.body_sha256),
            },
        )


def etag(body_sha256: str) -> str:
    """The strong ETag of a stored body: its hex SHA-256."""
    return f'"{body_sha256}"'


def _source_version(request: HttpRequest) -> int | None:
    header = request.header(SOURCE_VERSION_HEADER)
    if header is None:
        return None
    try:
        return parse_source_version(header)
    except InvalidSourceVersion as exc:
        raise Rejected(problem(400, "invalid-header", str(exc))) from None


def validate_body(
    body: Any, business_unit_id: str, customer_order_id: str, *, body_bytes: int
) -> CustomerOrderDocument:
    """The validated PUT body, or a 422 problem listing every violation.

    Beyond the schema, only what the topic and the store need of the body is
    checked: the projections ``customerId`` and ``status`` must fit a Pub/Sub
    attribute (and an index entry), every searched value must fit an index entry
    whole, all of them have a UTF-8 form, and the stored document with its search
    fields must fit Firestore's limits for a document and for its index entries.
    """
    try:
        document = validate_document(body)
    except ValidationError as exc:
        raise Rejected(
            problem(
                422,
                "validation-failed",
                f"{exc.error_count()} field(s) do not match the customer order schema",
                errors=schema_violations(exc),
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
    for pointer, value in _searched_values(order):
        reason = searchable_value_violation(value)
        if reason is not None:
            violations.append(FieldViolation(pointer, reason))
    violations.extend(fulfillment_violations(body[CUSTOMER_ORDER]))
    if not violations:
        fulfillments = fulfillments_of(body[CUSTOMER_ORDER], business_unit_id)
        if len(pickup_stores(fulfillments) | {business_unit_id}) > MAX_STORE_ATTRIBUTES:
            violations.append(
                FieldViolation(
                    "/customerOrder/fulfillments",
                    f"may name at most {MAX_STORE_ATTRIBUTES} business units with the path's "
                    "(each is an attribute of the order's events, which a store's webhook "
                    "filters by)",
                )
            )
    if not violations:
        reason = _storage_violation(
            body, business_unit_id, customer_order_id, body_bytes, fulfillments
        )
        if reason is not None:
            violations.append(FieldViolation("/customerOrder", reason))
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


def _searched_values(order: CustomerOrder) -> list[tuple[str, str]]:
    values = [
        (f"/customerOrder/items/{index}/itemId", item.item_id)
        for index, item in enumerate(order.items)
    ]
    instructions = order.invoice_payment_instructions
    if instructions is not None:
        pointer = "/customerOrder/invoicePaymentInstructions"
        values.append((f"{pointer}/customerAccountId", instructions.customer_account_id))
        values.extend(
            (f"{pointer}/additionalInformation/{index}/value", entry.value)
            for index, entry in enumerate(instructions.additional_information or ())
        )
    return values


def _storage_violation(
    body: Any,
    business_unit_id: str,
    customer_order_id: str,
    body_bytes: int,
    fulfillments: tuple[Fulfillment, ...],
) -> str | None:
    order = body[CUSTOMER_ORDER]
    search_fields = search_fields_of(order)
    size = document_size(
        business_unit_id,
        customer_order_id,
        body_bytes=body_bytes,
        customer_id=order["customerId"],
        status=order["status"],
        search_fields=search_fields,
        store_reserve=store_record_reserve(fulfillments),
    )
    if size > FIRESTORE_MAX_DOCUMENT_BYTES:
        return (
            f"with its search fields (its distinct itemIds and additionalInformation values) "
            f"and room for the stores' record of its fulfillments, the stored order would be "
            f"{size} bytes, over Firestore's {FIRESTORE_MAX_DOCUMENT_BYTES} for a document"
        )
    cost = index_cost(
        business_unit_id,
        customer_order_id,
        customer_id=order["customerId"],
        status=order["status"],
        search_fields=search_fields,
        fulfillments=fulfillments,
    )
    violation = index_cost_violation(cost)
    return None if violation is None else f"the stored order {violation}"


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
