"""The POS's API (the pos function): read an order, search, and record a pickup.

The OMS's API (:mod:`shared.api.oms`) is another function with its own invokers, so
that neither audience can call what is the other's (docs/deploying.md#identities-and-iam).
"""

from __future__ import annotations

from shared.api.get_order import GetOrder
from shared.api.record_pickup import EVENT, RecordPickup
from shared.api.routing import Resource
from shared.api.search_orders import SearchOrders
from shared.api.service import ApiService, Operation
from shared.domain.conflict import Statuses
from shared.domain.timestamps import ReceivedAtClock
from shared.optimistic import OptimisticWriter
from shared.pickups import Pickups
from shared.ports import OrderPublisher, OrderStore

LOGGER = "pos"


def pos_api(
    publisher: OrderPublisher,
    store: OrderStore,
    *,
    statuses: Statuses,
    retry_after_seconds: int,
    clock: ReceivedAtClock | None = None,
    writes: OptimisticWriter | None = None,
) -> ApiService:
    get = GetOrder(store, retry_after_seconds=retry_after_seconds)
    search = SearchOrders(store, retry_after_seconds=retry_after_seconds, logger=LOGGER)
    pickup = RecordPickup(
        Pickups(store, statuses=statuses, writes=writes),
        publisher,
        retry_after_seconds=retry_after_seconds,
        clock=clock,
    )
    return ApiService(
        {
            Resource.ORDER: {"GET": Operation("get", get)},
            Resource.SEARCH: {"POST": Operation("search", search)},
            Resource.PICKUP: {"POST": Operation(EVENT, pickup)},
        },
        logger=LOGGER,
    )
