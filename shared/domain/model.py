"""The customer order as the OMS sends it (the Hii Retail customer order schema).

Validation is strict: a string is never coerced into a number, nor a number
into a boolean. Fields this model does not know are kept as sent, because the
OMS owns the data; only the envelope rejects unknown members.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared.domain.ids import validate_id


def _order_id(value: str) -> str:
    return validate_id(value, name="customerOrderId")


# The search answers at most this many orders at a time; more come with the next page token.
MAX_PAGE_SIZE = 100

NonEmptyText = Annotated[str, Field(min_length=1)]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
OrderId = Annotated[str, AfterValidator(_order_id)]


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


class CustomerOrder(_OrderPart):
    customer_order_id: OrderId
    customer_id: NonEmptyText
    status: NonEmptyText
    items: Annotated[list[OrderItem], Field(min_length=1)]
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


class SearchRequest(BaseModel):
    """The body of ``POST .../customer-orders:search``: the proxy approach's, plus paging."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        frozen=True,
    )

    customer_id: NonEmptyText
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    page_token: NonEmptyText | None = None


def validate_search(body: Any) -> SearchRequest:
    """Validate a parsed search body; raises :class:`pydantic.ValidationError`."""
    return SearchRequest.model_validate(body)
