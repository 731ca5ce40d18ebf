"""The POS's API (the pos function): read an order, search, and record what the store did.

The OMS's API (:mod:`shared.api.oms`) is another function with its own invokers, so
that neither audience can call what is the other's (docs/deploying.md#identities-and-iam).
"""

from __future__ import annotations

from shared.api.access import Authenticator
from shared.api.get_order import GetOrder
from shared.api.record_store_update import RecordStoreUpdate
from shared.api.routing import Resource
from shared.api.search_orders import SearchOrders
from shared.api.service import ApiService, Operation
from shared.domain.conflict import Statuses
from shared.domain.timestamps import ReceivedAtClock
from shared.optimistic import OptimisticWriter
from shared.order_changes import OrderChanges
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
    authenticator: Authenticator | None = None,
) -> ApiService:
    get = GetOrder(store, retry_after_seconds=retry_after_seconds)
    search = SearchOrders(store, retry_after_seconds=retry_after_seconds, logger=LOGGER)
    # The pos function publishes no events: each update's message is announced by the processor.
    changes = OrderChanges(store, statuses=statuses, writes=writes, announce=None)
    update = RecordStoreUpdate(
        changes, publisher, retry_after_seconds=retry_after_seconds, clock=clock
    )
    return ApiService(
        {
            Resource.ORDER: {"GET": Operation("get", get)},
            Resource.SEARCH: {"POST": Operation("search", search)},
            Resource.READY: {"POST": Operation("ready", update)},
            Resource.PICKUP: {"POST": Operation("pickup", update)},
        },
        logger=LOGGER,
        authenticator=authenticator,
    )
