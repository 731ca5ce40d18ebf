"""Which resource a request path addresses, with its ids percent-decoded and checked."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shared.domain.addresses import (
    ORDER_PATH,
    ORDER_PATH_TEMPLATE,
    PICKUP_PATH_TEMPLATE,
    READY_PATH_TEMPLATE,
    SEARCH_PATH,
    SEARCH_PATH_TEMPLATE,
    STORE_UPDATE_PATH,
)
from shared.domain.events import source_violation
from shared.domain.ids import id_violation
from shared.domain.jsonbody import FieldViolation
from shared.domain.problems import Rejected, problem


class Resource(enum.Enum):
    ORDER = "order"
    SEARCH = "search"
    READY = "ready"
    PICKUP = "pickup"


@dataclass(frozen=True, slots=True)
class Route:
    resource: Resource
    business_unit_id: str
    # None for the search, which addresses the business unit's collection.
    customer_order_id: str | None = None

    @property
    def ids(self) -> dict[str, str]:
        """The ids as log fields."""
        ids = {"businessUnitId": self.business_unit_id}
        if self.customer_order_id is not None:
            ids["customerOrderId"] = self.customer_order_id
        return ids

    @property
    def order_id(self) -> str:
        """The order id of a route that addresses one order."""
        if self.customer_order_id is None:
            raise ValueError(f"a {self.resource.value} route addresses no order")
        return self.customer_order_id


def route(raw_path: str, served: Collection[Resource] = tuple(Resource)) -> Route:
    """The ids a path addresses, percent-decoded and checked; or a 404/400 problem.

    Only the ``served`` resources are recognised: where no store update is served, a
    path ending in ``:pickup`` or ``:ready`` addresses an order of that id, as it always did.
    """
    path = urlsplit(raw_path).path if "://" in raw_path else raw_path.split("?", 1)[0]
    if (match := STORE_UPDATE_PATH.fullmatch(path)) is not None and (
        resource := Resource(match["method"])
    ) in served:
        business_unit_id, customer_order_id = _ids(
            ("businessUnitId", match["bu"]), ("customerOrderId", match["order"])
        )
        return Route(resource, business_unit_id, customer_order_id)
    if (match := ORDER_PATH.fullmatch(path)) is not None:
        business_unit_id, customer_order_id = _ids(
            ("businessUnitId", match["bu"]), ("customerOrderId", match["order"])
        )
        return Route(Resource.ORDER, business_unit_id, customer_order_id)
    if (match := SEARCH_PATH.fullmatch(path)) is not None:
        [business_unit_id] = _ids(("businessUnitId", match["bu"]))
        return Route(Resource.SEARCH, business_unit_id)
    raise not_found(served)


def not_found(served: Collection[Resource] = (Resource.ORDER, Resource.SEARCH)) -> Rejected:
    where = [f"orders live at {ORDER_PATH_TEMPLATE}", f"the search at {SEARCH_PATH_TEMPLATE}"]
    if Resource.READY in served:
        where.append(f"items ready for pickup are recorded at {READY_PATH_TEMPLATE}")
    if Resource.PICKUP in served:
        where.append(f"items picked up are recorded at {PICKUP_PATH_TEMPLATE}")
    return Rejected(problem(404, "not-found", f"no such resource; {', '.join(where)}"))


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
        if reason is None and name == "businessUnitId":
            reason = source_violation(value)
        if reason is not None:
            violations.append(FieldViolation(f"/{name}", reason))
        ids.append(value)
    if violations:
        raise Rejected(
            problem(400, "invalid-id", "the path holds an invalid id", errors=violations)
        )
    return ids
