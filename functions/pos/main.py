"""HTTP Cloud Function ``pos``: the stores' POS reads orders and records pickups here.

The composition root: :func:`shared.api.pos.pos_api` decides,
:func:`shared.api.flask_function.http_function` adapts it to Flask. Its invokers are
the POS's identities alone (terraform ``pos_invoker_members``); the OMS's call ingest.
Each request's ID token is verified again here, and its identity holds only the business
units granted to it (shared/api/access.py).
"""

from __future__ import annotations

import flask
import functions_framework

from shared import log
from shared.api.flask_function import http_function
from shared.api.service import ApiService
from shared.config import AccessSettings, Settings
from shared.lazy import Lazy

# Read at start, so that a bad deployment fails to start instead of failing the first request.
settings = Settings.from_env()
access = AccessSettings.from_env()
log.configure()
_log = log.get_logger("pos")


def _new_service() -> ApiService:
    # The adapters bring the Google clients; importing them here keeps the gRPC
    # stack off the import path until the first request needs it.
    from shared.adapters.firestore import FirestoreOrderStore
    from shared.adapters.firestore_grants import FirestoreGrantStore
    from shared.adapters.id_tokens import GoogleIdTokenVerifier
    from shared.adapters.pubsub import PubSubOrderPublisher
    from shared.api.access import IdTokenAuthenticator
    from shared.api.pos import pos_api
    from shared.grants import GrantCache

    return pos_api(
        PubSubOrderPublisher.store_updates_from_settings(settings),
        FirestoreOrderStore.from_settings(settings),
        statuses=settings.statuses,
        retry_after_seconds=settings.retry_after_seconds,
        authenticator=IdTokenAuthenticator(
            GoogleIdTokenVerifier.from_settings(access),
            GrantCache(
                FirestoreGrantStore.from_settings(settings),
                ttl_seconds=access.grants_cache_seconds,
            ),
            retry_after_seconds=settings.retry_after_seconds,
            local=access.local,
        ),
    )


service = Lazy(_new_service)
_answer = http_function(service, _log)


@functions_framework.http
def pos(request: flask.Request) -> flask.Response:
    return _answer(request)
