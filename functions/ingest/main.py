"""HTTP Cloud Function ``ingest``: the OMS PUTs customer orders here.

The composition root: :func:`shared.api.oms.oms_api` decides,
:func:`shared.api.flask_function.http_function` adapts it to Flask.
"""

from __future__ import annotations

import flask
import functions_framework

from shared import log
from shared.api.flask_function import http_function
from shared.api.oms import oms_api
from shared.api.service import ApiService
from shared.config import Settings
from shared.domain.search import SearchCriteria, SearchPosition
from shared.domain.stored_order import OrderSummary, StoredOrder
from shared.lazy import Lazy
from shared.ports import OrderReader

# Read at start, so that a bad deployment fails to start instead of failing the first PUT.
settings = Settings.from_env()
log.configure()
_log = log.get_logger("ingest")


class _StoreOnFirstRead(OrderReader):
    """The Firestore store, built by the first GET or search.

    A PUT needs no Firestore: importing its client cost the first PUT of an
    instance about 100 ms of its cold start (docs/performance.md#why-the-code-is-as-it-is).
    """

    def __init__(self) -> None:
        self._store = Lazy(self._new_store)

    @staticmethod
    def _new_store() -> OrderReader:
        from shared.adapters.firestore import FirestoreOrderStore

        return FirestoreOrderStore.from_settings(settings)

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        return self._store.get().get(business_unit_id, customer_order_id)

    def search(
        self,
        business_unit_id: str,
        criteria: SearchCriteria,
        *,
        limit: int,
        after: SearchPosition | None,
    ) -> list[OrderSummary]:
        return self._store.get().search(business_unit_id, criteria, limit=limit, after=after)


def _new_service() -> ApiService:
    # The adapters bring the Google clients; importing them here keeps the gRPC
    # stack off the import path until the first request needs it.
    from shared.adapters.pubsub import PubSubOrderPublisher

    return oms_api(
        PubSubOrderPublisher.from_settings(settings),
        _StoreOnFirstRead(),
        retry_after_seconds=settings.retry_after_seconds,
    )


service = Lazy(_new_service)
_answer = http_function(service, _log)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    return _answer(request)
