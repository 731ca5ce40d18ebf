"""A client of the ingest API for OMS integrations: PUT, GET and HEAD one order, or PUT many.

Retries connection errors, 429 and 5xx with jittered exponential backoff,
honouring ``Retry-After``, within a bounded time per order; other 4xx answers are
final. With an ``audience`` every request carries an ID token (the deployed
function's URL is the usual audience); without one, none (the local stack).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from shared.api.get_order import OMS_BODY_SHA256_HEADER
from shared.domain.addresses import order_location
from shared.domain.conflict import parse_source_version
from shared.domain.ids import validate_id
from shared.domain.jsonbody import dump_json
from shared.errors import InvalidSourceVersion, one_line
from shared.tools.sync.keyed import KeyOrderedWorkers
from shared.tools.sync.ratelimit import RateLimiter
from shared.tools.sync.retrying import (
    DEFINITELY_NOT_ACCEPTED,
    RetryPolicy,
    is_retryable_status,
    retry_after_seconds,
)

DEFAULT_CONCURRENCY = 8
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
# Above the ingest function's own publish timeout (10 s), so its 503 arrives first.
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
USER_AGENT = "orders-sync (customer-order-events)"
SOURCE_VERSION_HEADER = "Source-Version"


class TokenSource(Protocol):
    def token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Accepted:
    """202: Pub/Sub confirmed the publish."""

    message_id: str
    received_at: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Found:
    """200 on GET: the stored order."""

    customer_order: dict[str, Any]
    received_at: str
    attempts: int
    # Hex SHA-256 of the body the OMS sent (the GET's OMS-Body-SHA256): equal to the
    # digest of the bytes a PUT sent exactly when the store holds those bytes, whatever a
    # store recorded beside them. The release before had no such header: its ETag was it.
    body_sha256: str = ""
    # The Source-Version the stored version was PUT with; None when it had none.
    source_version: int | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """200 on HEAD: an order is stored; its version, without the body."""

    source_version: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class NotFound:
    """404 on GET: nothing is stored under the ids."""

    attempts: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A final 4xx answer, with its problem document; sending again would not help."""

    status: int
    problem: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Failed:
    """No final answer within the retry deadline, or the caller stopped the retries."""

    reason: str
    attempts: int
    # A request may have reached the service (a read timeout, a dropped connection,
    # a 500): the order may be stored even though no 202 came back.
    may_have_been_accepted: bool
    stopped: bool = False


PutOutcome = Accepted | Rejected | Failed
GetOutcome = Found | NotFound | Rejected | Failed
HeadOutcome = Stored | NotFound | Rejected | Failed


@dataclass(frozen=True, slots=True)
class _Answer:
    response: requests.Response
    attempts: int


@dataclass(frozen=True, slots=True)
class _StoredAnswer:
    """A 200 on GET or HEAD of an order, with the stored version it names."""

    response: requests.Response
    attempts: int
    source_version: int | None


class OrdersClient:
    """One HTTP session with a connection pool sized for ``concurrency`` threads.

    Thread-safe: share one instance between the threads that send orders.
    """

    def __init__(
        self,
        base_url: str,
        *,
        audience: str | None = None,
        token_source: TokenSource | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        if token_source is None and audience is not None:
            from shared.tools.sync.auth import IdTokenSource

            token_source = IdTokenSource(audience)
        self._tokens = token_source
        self._retry = retry or RetryPolicy()
        self._limiter = rate_limiter
        self._timeout = (connect_timeout, read_timeout)
        self._clock = clock
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency, pool_block=True)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __enter__(self) -> OrdersClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def put_order(
        self,
        business_unit_id: str,
        order: Mapping[str, Any],
        *,
        source_version: int | None = None,
        stop: threading.Event | None = None,
    ) -> PutOutcome:
        """PUT ``order`` (the ``customerOrder`` object) under its ``customerOrderId``.

        With a ``source_version`` the PUT carries it as ``Source-Version``: the
        service then never lets it replace a version of the order that is higher.
        Raises :class:`~shared.errors.InvalidId` for ids the service would refuse,
        and :class:`~shared.tools.sync.errors.CredentialsError` when no token can be had.
        Setting ``stop`` ends the waits between retries early.
        """
        customer_order_id = _order_id(order)
        validate_id(business_unit_id, name="businessUnitId")
        body = order_bytes(order)
        extra = {} if source_version is None else {SOURCE_VERSION_HEADER: str(source_version)}
        result = self._exchange(
            "PUT", order_location(business_unit_id, customer_order_id), body, stop, extra
        )
        if isinstance(result, Failed):
            return result
        response, attempts = result.response, result.attempts
        if response.status_code == 202:
            answer = _json_object(response)
            return Accepted(
                message_id=str(answer.get("messageId", "")),
                received_at=str(answer.get("receivedAt", "")),
                attempts=attempts,
            )
        return Rejected(response.status_code, problem_document(response), attempts)

    def get_order(
        self,
        business_unit_id: str,
        customer_order_id: str,
        *,
        stop: threading.Event | None = None,
    ) -> GetOutcome:
        """The stored order, :class:`NotFound`, or why it could not be read."""
        read = self._read("GET", business_unit_id, customer_order_id, stop)
        if not isinstance(read, _StoredAnswer):
            return read
        response = read.response
        stored = _json_object(response).get("customerOrder")
        if not isinstance(stored, dict):
            return Rejected(response.status_code, problem_document(response), read.attempts)
        return Found(
            stored,
            response.headers.get("Received-At", ""),
            read.attempts,
            oms_body_sha256(response.headers),
            read.source_version,
        )

    def head_order(
        self,
        business_unit_id: str,
        customer_order_id: str,
        *,
        stop: threading.Event | None = None,
    ) -> HeadOutcome:
        """Whether an order is stored under the ids, and at which version: GET without the body."""
        read = self._read("HEAD", business_unit_id, customer_order_id, stop)
        if not isinstance(read, _StoredAnswer):
            return read
        return Stored(read.source_version, read.attempts)

    def _read(
        self,
        method: str,
        business_unit_id: str,
        customer_order_id: str,
        stop: threading.Event | None,
    ) -> _StoredAnswer | NotFound | Rejected | Failed:
        """A GET or HEAD of an order: its 200 answer and version, or how it ended otherwise."""
        validate_id(business_unit_id, name="businessUnitId")
        validate_id(customer_order_id, name="customerOrderId")
        result = self._exchange(
            method, order_location(business_unit_id, customer_order_id), None, stop
        )
        if isinstance(result, Failed):
            return result
        response, attempts = result.response, result.attempts
        if response.status_code == 200:
            try:
                version = _stored_version(response)
            except InvalidSourceVersion as exc:
                return Rejected(200, unexpected_answer(response, str(exc)), attempts)
            return _StoredAnswer(response, attempts, version)
        if response.status_code == 404 and is_problem(response):
            return NotFound(attempts)
        return Rejected(response.status_code, problem_document(response), attempts)

    def put_orders(self, orders: Iterable[tuple[str, Mapping[str, Any]]]) -> list[PutOutcome]:
        """PUT many ``(business_unit_id, order)`` pairs, ``concurrency`` at a time.

        Versions of one order are sent one after the other in the given order, so
        the last one is what the service keeps. Outcomes come back in input order.
        An invalid id becomes a :class:`Rejected` with status 400 instead of raising.
        """
        outcomes: dict[int, PutOutcome] = {}
        stop = threading.Event()

        def send(item: tuple[int, str, Mapping[str, Any]]) -> None:
            index, business_unit_id, order = item
            try:
                outcomes[index] = self.put_order(business_unit_id, order, stop=stop)
            except ValueError as exc:
                outcomes[index] = Rejected(400, local_problem(400, "invalid-id", str(exc)), 0)

        count = 0
        with KeyOrderedWorkers(send, concurrency=self.concurrency, stop=stop) as workers:
            for count, (business_unit_id, order) in enumerate(orders, 1):
                key = f"{business_unit_id}/{order.get('customerOrderId')}"
                workers.submit(key, (count - 1, business_unit_id, order))
        return [outcomes[index] for index in range(count)]

    def probe(self) -> requests.Response:
        """One GET with no retries, to tell a wrong or unreachable URL before a run."""
        return self._session.request(
            "GET",
            self.base_url + order_location("orders-sync-probe", "orders-sync-probe"),
            headers=self._headers(),
            timeout=self._timeout,
        )

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }
        if self._tokens is not None:
            headers["Authorization"] = f"Bearer {self._tokens.token()}"
        headers.update(extra or {})
        return headers

    def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        stop: threading.Event | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> _Answer | Failed:
        stop = stop or threading.Event()
        deadline = self._clock() + self._retry.deadline
        delays = self._retry.delays()
        attempts = 0
        maybe_accepted = False
        while True:
            if self._limiter is not None and not self._limiter.acquire(stop):
                return Failed("stopped", attempts, maybe_accepted, stopped=True)
            attempts += 1
            try:
                response = self._session.request(
                    method, self.base_url + path, data=body,
                    headers=self._headers(extra_headers), timeout=self._timeout,
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as exc:
                maybe_accepted = maybe_accepted or not _never_reached_server(exc)
                reason = one_line(exc)
                wait = next(delays)
            else:
                if not is_retryable_status(response.status_code):
                    return _Answer(response, attempts)
                maybe_accepted = maybe_accepted or (
                    method == "PUT" and response.status_code not in DEFINITELY_NOT_ACCEPTED
                )
                reason = f"HTTP {response.status_code}: {_problem_summary(response)}"
                wait = max(
                    next(delays), retry_after_seconds(response.headers.get("Retry-After")) or 0.0
                )
                response.close()
            if self._clock() + wait > deadline:
                return Failed(
                    f"{reason} (gave up after {attempts} attempt(s))", attempts, maybe_accepted
                )
            if stop.wait(wait):
                return Failed(reason, attempts, maybe_accepted, stopped=True)


def _order_id(order: Mapping[str, Any]) -> str:
    customer_order_id = order.get("customerOrderId")
    if not isinstance(customer_order_id, str):
        from shared.errors import InvalidId

        raise InvalidId("customerOrderId must be a string")
    return validate_id(customer_order_id, name="customerOrderId")


def _never_reached_server(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # NewConnectionError covers refused connections and failed name lookups.
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _stored_version(response: requests.Response) -> int | None:
    """The answer's ``Source-Version``; raises :class:`InvalidSourceVersion` for a bad one."""
    header = response.headers.get(SOURCE_VERSION_HEADER)
    return None if header is None else parse_source_version(header)


def order_bytes(order: Mapping[str, Any]) -> bytes:
    """The PUT body this client sends for ``order``: what the store then holds byte for byte."""
    return dump_json({"customerOrder": dict(order)})


def is_problem(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/problem+json")


def local_problem(status: int, slug: str, detail: str, **members: Any) -> dict[str, Any]:
    """A problem document made on this side, in the service's own format."""
    from shared.domain.problems import problem

    document = problem(status, slug, detail).to_json()
    document.update(members)
    return document


def problem_document(response: requests.Response) -> dict[str, Any]:
    """The answer's problem document, or one describing an answer that is not problem+json."""
    if is_problem(response):
        document = _json_object(response)
        if document:
            return document
    return unexpected_answer(
        response,
        f"{response.reason or 'HTTP'} "
        f"({response.headers.get('Content-Type', 'no content type')}): "
        f"{response.text[:200]}",
    )


def unexpected_answer(response: requests.Response, detail: str) -> dict[str, Any]:
    """A problem document for an answer the ingest API would not give."""
    return {"title": "Unexpected answer", "status": response.status_code, "detail": detail}


def oms_body_sha256(headers: Mapping[str, str]) -> str:
    """The SHA-256 of the OMS's body a GET answered: ``OMS-Body-SHA256``, or the ETag of a
    service of the release before, which answered the body alone (its ETag is the body's).

    Since stores record their updates beside the body, the ETag is the digest of the
    order as shown (docs/oms.md#reading-an-order), which differs once a store recorded
    anything.
    """
    digest = headers.get(OMS_BODY_SHA256_HEADER)
    if digest is None:
        digest = headers.get("ETag", "").removeprefix("W/").strip('"')
    return digest.strip()


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _problem_summary(response: requests.Response) -> str:
    document = _json_object(response) if is_problem(response) else {}
    return str(document.get("detail") or document.get("title") or response.reason or "")
