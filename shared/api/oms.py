"""The OMS's API (the ingest function): PUT an order, GET it back, search a customer's orders."""

from __future__ import annotations

from shared.api.put_order import PutOrder
from shared.api.read_orders import ReadOrders
from shared.api.routing import Resource
from shared.api.service import ApiService, Operation
from shared.domain.timestamps import ReceivedAtClock
from shared.ports import OrderPublisher, OrderStore

LOGGER = "ingest"


def oms_api(
    publisher: OrderPublisher,
    store: OrderStore,
    *,
    retry_after_seconds: int,
    clock: ReceivedAtClock | None = None,
) -> ApiService:
    put = PutOrder(publisher, retry_after_seconds=retry_after_seconds, clock=clock)
    read = ReadOrders(store, retry_after_seconds=retry_after_seconds, logger=LOGGER)
    return ApiService(
        {
            Resource.ORDER: {"PUT": Operation("put", put), "GET": Operation("get", read.get)},
            Resource.SEARCH: {"POST": Operation("search", read.search)},
        },
        logger=LOGGER,
    )
