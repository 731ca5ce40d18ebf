"""The OMS's API (the ingest function): PUT an order, GET it back, search the orders."""

from __future__ import annotations

from shared.api.get_order import GetOrder
from shared.api.put_order import PutOrder
from shared.api.routing import Resource
from shared.api.search_orders import SearchOrders
from shared.api.service import ApiService, Operation
from shared.domain.timestamps import ReceivedAtClock
from shared.ports import OrderPublisher, OrderReader

LOGGER = "ingest"


def oms_api(
    publisher: OrderPublisher,
    store: OrderReader,
    *,
    retry_after_seconds: int,
    clock: ReceivedAtClock | None = None,
) -> ApiService:
    put = PutOrder(publisher, retry_after_seconds=retry_after_seconds, clock=clock)
    get = GetOrder(store, retry_after_seconds=retry_after_seconds)
    search = SearchOrders(store, retry_after_seconds=retry_after_seconds, logger=LOGGER)
    return ApiService(
        {
            Resource.ORDER: {"PUT": Operation("put", put), "GET": Operation("get", get)},
            Resource.SEARCH: {"POST": Operation("search", search)},
        },
        logger=LOGGER,
    )
