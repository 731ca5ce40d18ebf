"""``GET``/``HEAD`` of one stored order, from the store."""

from __future__ import annotations

from email.utils import format_datetime

from shared.api.access import forbidden
from shared.api.put_order import SOURCE_VERSION_HEADER, etag
from shared.api.routing import Route
from shared.api.service import RequestContext
from shared.api.unavailable import read_from_store
from shared.domain.access import may_read_order
from shared.domain.fulfillments import pickup_stores
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.messages import sha256_hex
from shared.domain.problems import Rejected, problem
from shared.domain.stored_order import OrderRecord
from shared.domain.timestamps import format_timestamp
from shared.ports import OrderReader

# Set once a store handed something out: the last time.
PICKED_UP_AT_HEADER = "Picked-Up-At"
OMS_BODY_SHA256_HEADER = "OMS-Body-SHA256"


class GetOrder:
    def __init__(self, store: OrderReader, *, retry_after_seconds: int) -> None:
        self._store = store
        self._retry_after = retry_after_seconds

    def __call__(
        self, request: HttpRequest, target: Route, context: RequestContext
    ) -> HttpResponse:
        business_unit_id, customer_order_id = target.business_unit_id, target.order_id
        stored = read_from_store(
            lambda: self._store.get(business_unit_id, customer_order_id), self._retry_after
        )
        fulfillments = None
        if not context.caller.holds(business_unit_id):
            # Read only for a caller of another store: a body may be a megabyte of JSON.
            fulfillments = () if stored is None else stored.fulfillments()
            # Refused alike whether the order exists or not: a 404 would tell another
            # store's caller which order ids exist there.
            if not may_read_order(context.caller, business_unit_id, pickup_stores(fulfillments)):
                raise forbidden(
                    context.caller, business_unit_id, "nor a store this order is picked up at"
                )
        if stored is None:
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {customer_order_id!r} is stored "
                    f"for business unit {business_unit_id!r}",
                )
            )
        view = stored.view(fulfillments)
        headers = order_headers(stored, view)
        if _matches(request.header("If-None-Match"), headers["ETag"]):
            return HttpResponse(304, b"", headers)
        return HttpResponse(200, view, {"Content-Type": "application/json", **headers})


def order_headers(stored: OrderRecord, view: bytes) -> dict[str, str]:
    """The headers that answer a stored order as shown (``view``): its ETag and its version.

    The ETag is the SHA-256 of what is answered: the OMS's body while no store recorded
    anything, the body with the store's record after. ``OMS-Body-SHA256`` is always
    the SHA-256 of the body the OMS sent: equal to its own digest, the order is its.
    """
    headers = {
        "ETag": etag(stored.body_sha256 if view is stored.body else sha256_hex(view)),
        OMS_BODY_SHA256_HEADER: stored.body_sha256,
        "Last-Modified": format_datetime(stored.received_at, usegmt=True),
        # Last-Modified has whole seconds; the exact version is here.
        "Received-At": format_timestamp(stored.received_at),
        "Cache-Control": "no-store",
    }
    if stored.source_version is not None:
        headers[SOURCE_VERSION_HEADER] = str(stored.source_version)
    if stored.picked_up_at is not None:
        headers[PICKED_UP_AT_HEADER] = format_timestamp(stored.picked_up_at)
    return headers


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or tag in candidates
