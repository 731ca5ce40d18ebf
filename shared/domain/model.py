"""The customer order as the OMS sends it (the Hii Retail customer order schema).

Validation is strict: a string is never coerced into a number, nor a number
into a boolean. Fields this model does not know are kept as sent, because the
OMS owns the data; only the envelope rejects unknown members.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shared.domain.ids import update_id_violation, utf8_size, validate_id
from shared.domain.limits import MAX_FULFILLMENT_STATUS_BYTES
from shared.domain.search_fields import searchable_value_violation
from shared.domain.stored_order import MAX_TENDER_ID_BYTES, MAX_TENDER_METHOD_BYTES, MAX_TENDERS
from shared.domain.timestamps import parse_timestamp


def _order_id(value: str) -> str:
    return validate_id(value, name="customerOrderId")


def _business_unit_id(value: str) -> str:
    return validate_id(value, name="businessUnitId")


def _fulfillment_id(value: str) -> str:
    return validate_id(value, name="fulfillmentId")


def _update_id(value: str) -> str:
    reason = update_id_violation(value)
    if reason is not None:
        raise ValueError(f"updateId {reason}")
    return value


def _bounded(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        size = utf8_size(value)
        if size is None or size > limit:
            raise ValueError(f"must be at most {limit} bytes of UTF-8")
        return value

    return check


def _searched_value(value: str) -> str:
    violation = searchable_value_violation(value)
    if violation is not None:
        raise ValueError(violation)
    return value


def _one_or_several(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _timestamp(value: Any) -> Any:
    # Strict mode takes no string for a datetime; the wire form is RFC 3339 with an offset.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValueError(f"must be an RFC 3339 timestamp with an offset: {exc}") from None


# The search answers at most this many orders at a time; more come with the next page token.
MAX_PAGE_SIZE = 100
# Statuses one search may ask for: each is a query of its own that Firestore merges
# (at most 30 disjunctions per query).
MAX_STATUSES = 10
SEARCH_CRITERIA = (
    "customerId",
    "status",
    "customerAccountId",
    "additionalInformationValue",
    "itemId",
    "fulfillmentStatus",
    "receivedAt",
)

NonEmptyText = Annotated[str, Field(min_length=1)]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
OrderId = Annotated[str, AfterValidator(_order_id)]
BusinessUnitId = Annotated[str, AfterValidator(_business_unit_id)]
FulfillmentId = Annotated[str, AfterValidator(_fulfillment_id)]
UpdateId = Annotated[str, AfterValidator(_update_id)]
SearchedValue = Annotated[str, Field(min_length=1), AfterValidator(_searched_value)]
FulfillmentStatus = Annotated[
    str, Field(min_length=1), AfterValidator(_bounded(MAX_FULFILLMENT_STATUS_BYTES))
]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class _OrderPart(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        serialize_by_alias=True,
        allow_inf_nan=False,
        frozen=True,
    )


class AdditionalInformation(_OrderPart):
    id: NonEmptyText
    value: str
    display_text: str
    receipt_label: str


class InvoicePaymentInstructions(_OrderPart):
    customer_account_id: NonEmptyText
    invoicing_amount: FiniteNumber
    additional_information: list[AdditionalInformation] | None = None


class OrderItem(_OrderPart):
    item_id: NonEmptyText
    quantity_ordered: PositiveNumber
    unit_price: FiniteNumber


class FulfillmentItem(_OrderPart):
    item_id: NonEmptyText
    quantity: PositiveNumber


class Fulfillment(_OrderPart):
    """A part of the order the OMS assigns to a store (pickup) or to the warehouse."""

    fulfillment_id: FulfillmentId
    delivery_type: Literal["PICKUP_STORE", "HOME_DELIVERY_WAREHOUSE"]
    # The pickup store: required for PICKUP_STORE (shared.domain.fulfillments checks it).
    business_unit_id: BusinessUnitId | None = None
    items: Annotated[list[FulfillmentItem], Field(min_length=1)]


class CustomerOrder(_OrderPart):
    customer_order_id: OrderId
    customer_id: NonEmptyText
    status: NonEmptyText
    items: Annotated[list[OrderItem], Field(min_length=1)]
    fulfillments: list[Fulfillment] | None = None
    minimum_down_payment_amount: FiniteNumber | None = None
    is_locked: bool | None = None
    invoice_payment_instructions: InvoicePaymentInstructions | None = None


class CustomerOrderDocument(_OrderPart):
    """The PUT body and the GET answer: ``{"customerOrder": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    customer_order: CustomerOrder


def validate_document(body: Any) -> CustomerOrderDocument:
    """Validate a parsed JSON body; raises :class:`pydantic.ValidationError`."""
    return CustomerOrderDocument.model_validate(body)


class _SearchPart(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        frozen=True,
    )


class ReceivedAtRange(_SearchPart):
    """Orders whose stored version was received at or after ``from`` and before ``before``."""

    from_: Annotated[Timestamp | None, Field(alias="from")] = None
    before: Timestamp | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ReceivedAtRange:
        if self.from_ is None and self.before is None:
            raise ValueError("needs from, before or both")
        if self.from_ is not None and self.before is not None and self.from_ >= self.before:
            raise ValueError("from must be earlier than before")
        return self


class SearchRequest(_SearchPart):
    """The body of ``POST .../customer-orders:search``: criteria combined with AND, and paging.

    At least one criterion. ``itemId`` and ``additionalInformationValue`` exclude each
    other: each is an array-contains, and Firestore takes one per query.
    ``fulfillmentStatus`` finds the orders of every business unit with a fulfillment to
    be picked up at the searched one in one of its statuses, and combines with
    ``receivedAt`` only (shared.domain.search).
    """

    customer_id: SearchedValue | None = None
    status: (
        Annotated[
            list[SearchedValue],
            BeforeValidator(
                _one_or_several, json_schema_input_type=SearchedValue | list[SearchedValue]
            ),
            Field(min_length=1, max_length=MAX_STATUSES),
        ]
        | None
    ) = None
    customer_account_id: SearchedValue | None = None
    additional_information_value: SearchedValue | None = None
    item_id: SearchedValue | None = None
    fulfillment_status: (
        Annotated[
            list[FulfillmentStatus],
            BeforeValidator(
                _one_or_several,
                json_schema_input_type=FulfillmentStatus | list[FulfillmentStatus],
            ),
            Field(min_length=1, max_length=MAX_STATUSES),
        ]
        | None
    ) = None
    received_at: ReceivedAtRange | None = None
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    page_token: NonEmptyText | None = None

    @model_validator(mode="after")
    def _searchable(self) -> SearchRequest:
        criteria = (
            self.customer_id,
            self.status,
            self.customer_account_id,
            self.additional_information_value,
            self.item_id,
            self.fulfillment_status,
            self.received_at,
        )
        if all(criterion is None for criterion in criteria):
            raise ValueError(f"needs at least one criterion: {', '.join(SEARCH_CRITERIA)}")
        if self.item_id is not None and self.additional_information_value is not None:
            raise ValueError(
                "itemId and additionalInformationValue cannot be combined (Firestore "
                "matches one array member per query): search by one of them"
            )
        if self.fulfillment_status is not None:
            combined = [
                name
                for name, criterion in zip(SEARCH_CRITERIA, criteria, strict=True)
                if criterion is not None and name not in ("fulfillmentStatus", "receivedAt")
            ]
            if combined:
                raise ValueError(
                    f"fulfillmentStatus cannot be combined with {', '.join(combined)}: it "
                    "searches every business unit's orders for those to be picked up at this "
                    "one, and combines with receivedAt only (each other criterion would need "
                    "an index of its own over every business unit's orders)"
                )
        return self

    @property
    def statuses(self) -> tuple[str, ...]:
        return () if self.status is None else tuple(dict.fromkeys(self.status))

    @property
    def fulfillment_statuses(self) -> tuple[str, ...]:
        if self.fulfillment_status is None:
            return ()
        return tuple(dict.fromkeys(self.fulfillment_status))


def validate_search(body: Any) -> SearchRequest:
    """Validate a parsed search body; raises :class:`pydantic.ValidationError`."""
    return SearchRequest.model_validate(body)


class StoreUpdateItem(_SearchPart):
    """So many of an item of the fulfillment."""

    item_id: NonEmptyText
    quantity: PositiveNumber


class TenderRequest(_SearchPart):
    """A payment taken at the counter."""

    tender_id: Annotated[str, Field(min_length=1), AfterValidator(_bounded(MAX_TENDER_ID_BYTES))]
    amount: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    method: Annotated[str, Field(min_length=1), AfterValidator(_bounded(MAX_TENDER_METHOD_BYTES))]


class ReadyRequest(_SearchPart):
    """The body of ``POST .../customer-orders/{id}:ready``: items ready for pickup.

    Without ``items``, the whole fulfillment; without ``fulfillmentId``, the order's one
    store fulfillment (of the caller's stores).
    """

    update_id: UpdateId
    fulfillment_id: FulfillmentId | None = None
    items: Annotated[list[StoreUpdateItem], Field(min_length=1)] | None = None


class PickupRequest(_SearchPart):
    """The body of ``POST .../customer-orders/{id}:pickup``: items handed out now, paid so.

    Without ``items``, everything of the fulfillment not yet picked up. An empty body
    (or none) is the pickup of the release before: all of the order's one store
    fulfillment, and a repeat answered as the first; only an ``updateId`` protects
    against a second hand-out.
    """

    update_id: UpdateId | None = None
    fulfillment_id: FulfillmentId | None = None
    items: Annotated[list[StoreUpdateItem], Field(min_length=1)] | None = None
    tenders: Annotated[list[TenderRequest], Field(max_length=MAX_TENDERS)] = []

    @model_validator(mode="after")
    def _identified(self) -> PickupRequest:
        given = self.fulfillment_id is not None or self.items is not None or self.tenders
        if self.update_id is None and given:
            raise ValueError("needs an updateId: only an empty body may go without one")
        tender_ids = [tender.tender_id for tender in self.tenders]
        if len(set(tender_ids)) != len(tender_ids):
            raise ValueError("each tenderId may appear once")
        return self
