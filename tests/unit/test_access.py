"""Who may call the pos function: tokens verified by google-auth, grants, and the rules.

The tokens are real (RSA-signed by the local stack's signer, shared/tools/dev_identity.py)
and verified by the production verifier; only the transport that fetches the keys is a
stand-in here. tests/integration/test_store_access.py does the same on the real stack.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from google.auth import exceptions, transport

from shared.adapters.id_tokens import GoogleIdTokenVerifier
from shared.adapters.memory import InMemoryGrantStore, InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.access import CHALLENGE, IdTokenAuthenticator, bearer_token
from shared.api.pos import pos_api
from shared.config import AccessSettings
from shared.domain.access import Caller, may_read_order
from shared.domain.addresses import order_location
from shared.domain.conflict import Statuses
from shared.domain.grants import Grant, granted, identity_of, revoked
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.problems import Rejected
from shared.errors import ConfigurationError, InvalidToken, KeysUnavailable, StoreUnavailable
from shared.grants import GrantCache, is_fresh
from shared.tools import dev_identity
from tests.support import order_message, problem_of, recorded_logs, store_message, unique_id

AUDIENCE = "https://pos.example.test"
ISSUER = "https://issuer.example.test"


class _Response(transport.Response):
    def __init__(self, status: int, data: bytes) -> None:
        self._status = status
        self._data = data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Content-Type": "application/json"}

    @property
    def data(self) -> bytes:
        return self._data


class KeysTransport(transport.Request):
    """Answers the certs URL with the signer's public keys (or fails), counting the fetches."""

    def __init__(self, certs: Mapping[str, str]) -> None:
        self.certs = certs
        self.fetched: list[str] = []
        self.fail = False

    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> transport.Response:
        self.fetched.append(url)
        if self.fail:
            raise exceptions.TransportError("connection refused")  # type: ignore[no-untyped-call]
        return _Response(200, json.dumps(self.certs).encode())


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> dev_identity.LocalIdentity:
    return dev_identity.create(
        tmp_path_factory.mktemp("identity"), issuer=ISSUER, audience=AUDIENCE
    )


@pytest.fixture
def keys(signer: dev_identity.LocalIdentity) -> KeysTransport:
    return KeysTransport(signer.certs())


@pytest.fixture
def verifier(keys: KeysTransport) -> GoogleIdTokenVerifier:
    return GoogleIdTokenVerifier(
        audiences=[AUDIENCE, "https://other-url-of.pos.example.test"],
        issuers=[ISSUER],
        certs_url=f"{ISSUER}/certs",
        request=keys,
    )


# --- The verifier -------------------------------------------------------------------------


def test_a_token_signed_by_the_key_for_the_audience_is_its_email(
    signer: dev_identity.LocalIdentity, verifier: GoogleIdTokenVerifier
) -> None:
    assert (
        verifier.verify(dev_identity.sign(signer, "Store-1@Example.com")) == "store-1@example.com"
    )
    # Cloud Run accepts a token for any of the function's URLs, so does the function.
    other = dev_identity.sign(
        signer, "a@example.com", audience="https://other-url-of.pos.example.test"
    )
    assert verifier.verify(other) == "a@example.com"


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("another key", {"private_key": dev_identity.new_private_key()}),
        ("expired", {"issued_at": time.time() - 7200}),
        ("another audience", {"audience": "https://someone-else.example.test"}),
        ("another issuer", {"claims": {"iss": "https://accounts.example.test"}}),
        ("unverified email", {"claims": {"email_verified": False}}),
        ("no email", {"claims": {"email": None}}),
        ("an email that is no identity", {"claims": {"email": "no-at-sign"}}),
    ],
)
def test_a_token_that_proves_nothing_is_invalid(
    signer: dev_identity.LocalIdentity,
    verifier: GoogleIdTokenVerifier,
    case: str,
    changes: dict[str, Any],
) -> None:
    token = dev_identity.sign(signer, "store-1@example.com", **changes)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "e30.e30.SIGNATURE_REMOVED_BY_GOOGLE", "x" * 5000, "ÿ.ÿ.ÿ"],
)
def test_garbage_is_an_invalid_token_never_a_crash(
    verifier: GoogleIdTokenVerifier, token: str
) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_keys_that_cannot_be_fetched_are_unavailable_not_invalid(
    signer: dev_identity.LocalIdentity, verifier: GoogleIdTokenVerifier, keys: KeysTransport
) -> None:
    keys.fail = True
    with pytest.raises(KeysUnavailable):
        verifier.verify(dev_identity.sign(signer, "store-1@example.com"))


def test_the_cloud_run_stripped_token_is_refused_with_what_to_send(
    signer: dev_identity.LocalIdentity, verifier: GoogleIdTokenVerifier
) -> None:
    header, payload, _ = dev_identity.sign(signer, "store-1@example.com").split(".")
    stripped = f"{header}.{payload}.SIGNATURE_REMOVED_BY_GOOGLE"
    authenticator = IdTokenAuthenticator(
        verifier, GrantCache(InMemoryGrantStore(), ttl_seconds=30), retry_after_seconds=1
    )
    with pytest.raises(Rejected) as refused:
        authenticator.authenticate(_request(stripped))
    assert refused.value.problem.status == 401
    assert "X-Serverless-Authorization" in refused.value.problem.detail


# --- Settings -----------------------------------------------------------------------------


def test_access_settings_require_audiences_and_bound_the_cache() -> None:
    with pytest.raises(ConfigurationError, match="POS_AUDIENCES"):
        AccessSettings.from_env({})
    settings = AccessSettings.from_env({"POS_AUDIENCES": " https://a , https://b ,"})
    assert settings.audiences == ("https://a", "https://b")
    assert settings.grants_cache_seconds == 30
    assert not settings.local
    with pytest.raises(ConfigurationError, match="at most 60"):
        AccessSettings.from_env({"POS_AUDIENCES": "https://a", "POS_GRANTS_CACHE_SECONDS": "61"})


def test_the_local_signer_is_accepted_under_the_emulators_only() -> None:
    local = {"POS_AUDIENCES": "http://127.0.0.1:8082", "POS_LOCAL_ISSUER": ISSUER}
    local["POS_LOCAL_CERTS_URL"] = f"{ISSUER}/certs"
    with pytest.raises(ConfigurationError, match="never in production"):
        AccessSettings.from_env(local)
    settings = AccessSettings.from_env({**local, "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8086"})
    assert settings.local
    verifier = GoogleIdTokenVerifier.from_settings(settings)
    assert verifier._certs_url == f"{ISSUER}/certs"
    # Production: Google's keys and issuers, whatever else is around.
    google = GoogleIdTokenVerifier.from_settings(AccessSettings.from_env({"POS_AUDIENCES": "x"}))
    assert google._certs_url == "https://www.googleapis.com/oauth2/v1/certs"
    assert google._issuers == {"accounts.google.com", "https://accounts.google.com"}


# --- Grants and their cache ---------------------------------------------------------------


def test_grants_add_units_or_all_and_revoke_some_or_everything() -> None:
    one = granted(None, "a@x.com", ["BU1"], everything=False)
    two = granted(one, "a@x.com", ["BU2"], everything=False)
    assert two.caller() == Caller("a@x.com", frozenset({"BU1", "BU2"}))
    assert granted(two, "a@x.com", [], everything=True).caller().holds_all
    assert revoked(two, "a@x.com", ["BU1"]) == Grant("a@x.com", frozenset({"BU2"}))
    assert revoked(two, "a@x.com", ["BU1", "BU2"]) is None
    assert revoked(two, "a@x.com", None) is None
    every = Grant("a@x.com", all_business_units=True)
    with pytest.raises(ValueError, match="holds all business units"):
        revoked(every, "a@x.com", ["BU1"])
    assert revoked(every, "a@x.com", None) is None
    with pytest.raises(ValueError, match="must not contain '/'"):
        granted(None, "a@x.com", ["a/b"], everything=False)
    assert identity_of(" Store@Example.COM ") == "store@example.com"
    for bad in ("", "no-at", "a/b@example.com", "a@" + "b" * 300):
        with pytest.raises(ValueError, match="not an email address"):
            identity_of(bad)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_revocation_takes_effect_within_the_production_bound() -> None:
    """With the production 30 s, for revocations at any moment of a cache entry's life."""
    ttl = AccessSettings.from_env({"POS_AUDIENCES": "x"}).grants_cache_seconds
    assert ttl == 30
    for revoked_after in (0.0, 0.1, 15.0, 29.9, 30.0, 45.0):
        grants = InMemoryGrantStore(Grant("s@x.com", frozenset({"BU1"})))
        clock = Clock()
        cache = GrantCache(grants, ttl_seconds=ttl, clock=clock)
        assert cache.caller("s@x.com").holds("BU1")
        clock.now += revoked_after
        grants.change("s@x.com", lambda _: None, operator="t", command="revoke")
        revoked_at = clock.now
        # Asked every 0.1 s from the revocation on: the first refusal comes within the bound.
        while cache.caller("s@x.com").holds("BU1"):
            clock.now += 0.1
            assert clock.now - revoked_at <= ttl, revoked_after
    # Every read is one document; a cached answer reads nothing.
    grants = InMemoryGrantStore(Grant("s@x.com", frozenset({"BU1"})))
    cache = GrantCache(grants, ttl_seconds=ttl, clock=Clock())
    for _ in range(100):
        cache.caller("s@x.com")
    assert grants.reads == 1


def test_fresh_means_younger_than_the_bound() -> None:
    assert is_fresh(0, 29.999, 30)
    assert not is_fresh(0, 30, 30)
    # A clock that went back: not trusted.
    assert not is_fresh(10, 5, 30)


def test_an_expired_grant_is_never_used_when_firestore_is_down() -> None:
    grants = InMemoryGrantStore(Grant("s@x.com", frozenset({"BU1"})))
    clock = Clock()
    cache = GrantCache(grants, ttl_seconds=30, clock=clock)
    cache.caller("s@x.com")
    grants.fail_with = StoreUnavailable("down")
    clock.now += 30
    with pytest.raises(StoreUnavailable):
        cache.caller("s@x.com")


def test_the_cache_is_bounded_oldest_first() -> None:
    grants = InMemoryGrantStore()
    cache = GrantCache(grants, ttl_seconds=30, clock=Clock(), max_entries=3)
    for name in ("a", "b", "c", "d"):
        cache.caller(f"{name}@x.com")
    assert grants.reads == 4
    cache.caller("d@x.com")
    cache.caller("b@x.com")
    assert grants.reads == 4
    cache.caller("a@x.com")
    assert grants.reads == 5


def test_reading_rules() -> None:
    store = Caller("s@x.com", frozenset({"BU2"}))
    assert may_read_order(store, "BU2", [])
    assert not may_read_order(store, "BU1", [])
    # Another unit's order with a fulfillment to pick up at BU2.
    assert may_read_order(store, "BU1", ["BU3", "BU2"])
    assert may_read_order(Caller.everything("central@x.com"), "BU9", [])
    assert not may_read_order(Caller("none@x.com", frozenset()), "BU1", ["BU1x"])


# --- The pos API with an authenticator ----------------------------------------------------


class Pos:
    def __init__(
        self, signer: dev_identity.LocalIdentity, keys: KeysTransport, *, local: bool
    ) -> None:
        self.signer = signer
        self.grants = InMemoryGrantStore(
            Grant("bu1@x.com", frozenset({"BU1"})),
            Grant("central@x.com", all_business_units=True),
        )
        self.store = InMemoryOrderStore()
        verifier = GoogleIdTokenVerifier(
            audiences=[AUDIENCE], issuers=[ISSUER], certs_url=f"{ISSUER}/certs", request=keys
        )
        self.api = pos_api(
            InMemoryOrderPublisher(),
            self.store,
            statuses=Statuses(),
            retry_after_seconds=1,
            authenticator=IdTokenAuthenticator(
                verifier,
                GrantCache(self.grants, ttl_seconds=30),
                retry_after_seconds=1,
                local=local,
            ),
        )

    def order(self, business_unit_id: str) -> str:
        order_id = unique_id()
        store_message(self.store, order_message(business_unit_id, order_id, _now()))
        return order_id

    def get(self, email: str | None, business_unit_id: str, order_id: str) -> HttpResponse:
        token = None if email is None else dev_identity.sign(self.signer, email)
        return self.api.handle(_request(token, "GET", order_location(business_unit_id, order_id)))

    def search(self, email: str | None, business_unit_id: str) -> HttpResponse:
        token = None if email is None else dev_identity.sign(self.signer, email)
        path = f"/business-units/{business_unit_id}/customer-orders:search"
        return self.api.handle(_request(token, "POST", path, b'{"customerId": "C1"}'))


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _request(
    token: str | None,
    method: str = "GET",
    path: str = "/business-units/BU1/customer-orders/CO-1",
    body: bytes = b"",
) -> HttpRequest:
    import io

    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return HttpRequest(
        method=method,
        raw_path=path,
        content_type="application/json" if body else None,
        content_length=len(body),
        body=io.BytesIO(body),
        headers=headers,
    )


def test_a_store_reads_and_searches_its_own_unit_and_is_refused_anothers(
    signer: dev_identity.LocalIdentity, keys: KeysTransport
) -> None:
    pos = Pos(signer, keys, local=False)
    own, other = pos.order("BU1"), pos.order("BU2")
    assert pos.get("bu1@x.com", "BU1", own).status == 200
    assert pos.search("bu1@x.com", "BU1").status == 200
    with recorded_logs() as logs:
        for answer in (
            pos.get("bu1@x.com", "BU2", other),
            # Alike for an order that does not exist: no 404 tells which ids exist there.
            pos.get("bu1@x.com", "BU2", "CO-none"),
            pos.search("bu1@x.com", "BU2"),
            pos.get("nobody@x.com", "BU1", own),
            pos.search("nobody@x.com", "BU1"),
        ):
            assert answer.status == 403
            assert problem_of(answer)["type"].endswith(":forbidden")
    fields = [getattr(record, "json_fields", {}) for record in logs.records]
    refusals = [field for field in fields if field.get("httpStatus") == 403]
    assert [(r["identity"], r["outcome"], r["problemType"]) for r in refusals] == [
        ("bu1@x.com", "refused", "forbidden")
    ] * 3 + [("nobody@x.com", "refused", "forbidden")] * 2
    assert pos.get("central@x.com", "BU2", other).status == 200
    assert pos.search("central@x.com", "BU7").status == 200


def test_without_a_token_production_refuses_and_the_local_stack_holds_every_store(
    signer: dev_identity.LocalIdentity, keys: KeysTransport
) -> None:
    production = Pos(signer, keys, local=False)
    order = production.order("BU1")
    with recorded_logs() as logs:
        refused = production.get(None, "BU1", order)
        # Nothing else runs: not even routing (an unknown path is a 401 too).
        unknown = production.api.handle(_request(None, "GET", "/nowhere"))
    for answer in (refused, unknown):
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == CHALLENGE
        problem_of(answer)
    assert {getattr(r, "json_fields", {})["identity"] for r in logs.records} == {"unverified"}
    forged = dev_identity.sign(signer, "bu1@x.com", private_key=dev_identity.new_private_key())
    assert (
        production.api.handle(_request(forged, "GET", order_location("BU1", order))).status == 401
    )
    local = Pos(signer, keys, local=True)
    assert local.get(None, "BU1", local.order("BU1")).status == 200
    # A token still counts locally: that identity's grants apply.
    assert local.get("bu1@x.com", "BU2", local.order("BU2")).status == 403


def test_the_authenticator_answers_503_when_it_cannot_tell(
    signer: dev_identity.LocalIdentity, keys: KeysTransport
) -> None:
    pos = Pos(signer, keys, local=False)
    order = pos.order("BU1")
    pos.grants.fail_with = StoreUnavailable("down")
    answer = pos.get("bu1@x.com", "BU1", order)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "1"
    pos.grants.fail_with = None
    keys.fail = True
    assert pos.get("bu1@x.com", "BU1", order).status == 503


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer ", "token"])
def test_an_authorization_header_that_is_no_bearer_token_is_401(header: str) -> None:
    with pytest.raises(Rejected) as refused:
        bearer_token(header)
    assert refused.value.problem.status == 401


def test_the_ingest_api_is_unchanged_its_caller_holds_everything() -> None:
    from shared.api.oms import oms_api

    store = InMemoryOrderStore()
    order_id = unique_id()
    store_message(store, order_message("BU5", order_id, _now()))
    api = oms_api(InMemoryOrderPublisher(), store, retry_after_seconds=1)
    with recorded_logs(logging.INFO) as logs:
        assert api.handle(_request(None, "GET", order_location("BU5", order_id))).status == 200
        assert api.handle(_request(None, "GET", order_location("BU5", "none"))).status == 404
    assert all("identity" not in getattr(r, "json_fields", {}) for r in logs.records)


def test_the_dev_identity_files_stay_private(signer: dev_identity.LocalIdentity) -> None:
    mode = (Path(signer.directory) / dev_identity.KEY_FILE).stat().st_mode & 0o777
    assert mode == 0o600
    assert dev_identity.load(signer.directory) == signer


def test_the_keys_are_fetched_once_while_their_cache_control_allows(
    signer: dev_identity.LocalIdentity,
) -> None:
    """The production session (CacheControl) over real HTTP: one fetch for many tokens."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from shared.adapters.id_tokens import caching_request

    body = json.dumps(signer.certs()).encode()
    fetches: list[str] = []

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=300")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = GoogleIdTokenVerifier(
            audiences=[AUDIENCE],
            issuers=[ISSUER],
            certs_url=f"http://127.0.0.1:{server.server_address[1]}/certs",
            request=caching_request(),
        )
        for n in range(5):
            assert verifier.verify(dev_identity.sign(signer, f"s{n}@x.com")) == f"s{n}@x.com"
    finally:
        server.shutdown()
        server.server_close()
    assert fetches == ["/certs"]
