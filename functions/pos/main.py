"""HTTP Cloud Function ``pos``: the stores' POS reads orders and records pickups here.

The composition root: :func:`shared.api.pos.pos_api` decides,
:func:`shared.api.flask_function.http_function` adapts it to Flask. Its invokers are
the POS's identities alone (terraform ``pos_invoker_members``); the OMS's call ingest.
"""

from __future__ import annotations

import flask
import functions_framework

from shared import log
from shared.api.flask_function import http_function
from shared.api.service import ApiService
from shared.config import Settings
from shared.lazy import Lazy

# Read at start, so that a bad deployment fails to start instead of failing the first request.
settings = Settings.from_env()
log.configure()
_log = log.get_logger("pos")


def _new_service() -> ApiService:
    # The adapters bring the Google clients; importing them here keeps the gRPC
    # stack off the import path until the first request needs it.
    from shared.adapters.firestore import FirestoreOrderStore
    from shared.adapters.pubsub import PubSubOrderPublisher
    from shared.api.pos import pos_api

    return pos_api(
        PubSubOrderPublisher.from_settings(settings),
        FirestoreOrderStore.from_settings(settings),
        statuses=settings.statuses,
        retry_after_seconds=settings.retry_after_seconds,
    )


service = Lazy(_new_service)
_answer = http_function(service, _log)


@functions_framework.http
def pos(request: flask.Request) -> flask.Response:
    return _answer(request)
