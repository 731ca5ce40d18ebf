"""The fuzz targets: every entry point that takes outside input, in process, with its oracle.

Each target takes one case (tests/fuzz/cases.py) and raises :class:`Finding` when the
code under test breaks a promise; anything else it raises is a crash as well.

- ``ingest``, ``pos``: the functions' own ``main.py``, served by functions-framework's
  app (``create_app(...).test_client()``), each request built as gunicorn would deliver
  it. No answer is a 5xx; every 4xx is a problem document that leaks nothing; a 202
  publishes exactly the body sent, which the processor then stores, and GET answers
  it byte for byte; a refusal publishes nothing; a pickup's message is processed.
- ``processor``: its ``main.py`` pushed a message as Pub/Sub delivers one (a hand-made
  or damaged message included): acked (200) or refused for good (422, the documented
  UndecodableMessage and StoreRefused); a stored order is then served by pos and can be
  picked up without a 5xx.
- ``dlq``: orders-dlq's reading of a dead letter (the ``ReceivedMessage`` a pull returns)
  and everything it prints of it; one it calls replayable is acked by the processor.
- ``sync``: orders-sync's reading of an export file; a record it sends is never refused
  by ingest as malformed JSON, nor answered with a 5xx.

The adapters behind the functions are the in-memory ones: the fuzz is about input, and
a store or topic that never fails means any 5xx is a bug. Every case starts from the
same stored orders (``Deployment.begin``), so a crash reproduces from its file alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from werkzeug.test import EnvironBuilder, run_wsgi_app

from shared.domain.problems import PROBLEM_CONTENT_TYPE
from tests.fuzz.cases import HttpCase, PubSubCase, parse_http_case, parse_pubsub_case
from tests.fuzz.oracle import LEAK_MARKERS

# The functions' configuration, as the local stack gives it (no emulator is reached:
# every adapter is replaced). Under the emulators a pos request without a token is the
# local all-stores POS; a token ``fuzz:IDENTITY`` is IDENTITY's, of the grants below.
ENVIRONMENT = {
    "GOOGLE_CLOUD_PROJECT": "demo-fuzz",
    "LOG_LEVEL": "ERROR",
    "FUNCTION_SIGNATURE_TYPE": "",
    "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
    "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
    "POS_AUDIENCES": "http://pos.fuzz",
    "POS_LOCAL_ISSUER": "http://issuer.fuzz",
    "POS_LOCAL_CERTS_URL": "http://issuer.fuzz/certs",
}
TOKEN_PREFIX = "fuzz:"
GRANTS = {"store-bu1@fuzz": frozenset({"BU1"}), "store-none@fuzz": frozenset()}
SUBSCRIPTION = "projects/demo-fuzz/subscriptions/customer-orders-processor"
# Where the store-updates topic's subscription pushes (shared/domain/messages.py).
STORE_UPDATES_PATH = "/store-updates"
WORLD_BUSINESS_UNIT = "BU1"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# Pub/Sub's limits on what it delivers (docs/platform.md): beyond them nothing is delivered.
_MAX_ATTRIBUTES = 100
_MAX_ATTRIBUTE_KEY_BYTES = 256
_MAX_ATTRIBUTE_VALUE_BYTES = 1024
_MAX_ORDERING_KEY_BYTES = 1024
# RFC 9110 token characters: gunicorn answers 400 itself for any other header name or method.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class Finding(AssertionError):
    """The code under test broke a promise for this input."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _LastError(logging.Handler):
    """Keeps the last logged exception, so that a 5xx's finding says what raised."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            where = traceback.extract_tb(error.__traceback__)[-3:]
            frames = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in where[::-1])
            self.text = f"{type(error).__name__}: {error} at {frames}"[:2000]


class _StoreSwitch:
    """The store every function was built with; each case gets a fresh one behind it."""

    def __init__(self, store: Any) -> None:
        self.current = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)


class Deployment:
    """The three ``main.py`` as functions-framework serves them, over in-memory adapters."""

    def __init__(self) -> None:
        import functions_framework

        from shared import log
        from shared.adapters import firestore, pubsub
        from shared.adapters.memory import (
            InMemoryEventPublisher,
            InMemoryOrderPublisher,
            InMemoryOrderStore,
        )
        from shared.tools.functions import FUNCTIONS, main_py

        os.environ.update(ENVIRONMENT)
        self._new_store = InMemoryOrderStore
        self.store = _StoreSwitch(InMemoryOrderStore())
        self.orders = InMemoryOrderPublisher()
        self.events = InMemoryEventPublisher()
        # The composition roots run as deployed; only the Google clients are replaced.
        for adapter, factory, fake in (
            (firestore.FirestoreOrderStore, "from_settings", self.store),
            (pubsub.PubSubOrderPublisher, "from_settings", self.orders),
            (pubsub.PubSubOrderPublisher, "store_updates_from_settings", self.orders),
            (pubsub.PubSubEventPublisher, "from_settings", self.events),
            *_access_fakes(),
        ):
            setattr(adapter, factory, classmethod(lambda cls, settings, f=fake: f))
        self.errors = _LastError()
        clients = {}
        for name in ("ingest", "pos", "processor"):
            os.environ["FUNCTION_TARGET"] = FUNCTIONS[name]
            app = functions_framework.create_app(  # type: ignore[no-untyped-call]
                FUNCTIONS[name], str(main_py(name))
            )
            app.logger.handlers = [self.errors]
            app.logger.propagate = False
            clients[name] = app.test_client()
        self.ingest, self.pos, self.processor = (
            clients["ingest"],
            clients["pos"],
            clients["processor"],
        )
        project = logging.getLogger(log.LOGGER_NAME)
        project.handlers = [self.errors]
        project.setLevel(logging.ERROR)
        self._world = self._build_world()

    def _build_world(self) -> dict[Any, Any]:
        """The stored orders every case starts from: open, picked up, cancelled, odd, deep."""
        from tests.fuzz.seeds import world_messages

        for message in world_messages():
            answer = self.push(message)
            if answer.status != 200:
                raise RuntimeError(f"the world's message was refused: {answer}")
        picked = self.send(
            self.pos, HttpCase("POST", "/business-units/BU1/customer-orders/CO-PICKED:pickup")
        )
        if picked.status != 200:
            raise RuntimeError(f"the world's pickup was refused: {picked}")
        for published in list(self.orders.published):
            self.push(published)
        # Test code may read the in-memory store's dict: its orders are immutable records.
        return dict(self.store.current._orders)

    def begin(self) -> None:
        """Back to the world's stored orders, nothing published."""
        fresh = self._new_store()
        fresh._orders.update(self._world)
        self.store.current = fresh
        self.orders.published.clear()
        self.events.published.clear()
        self.errors.text = ""

    def send(self, client: Any, case: HttpCase) -> Answer:
        """``case`` as gunicorn hands it to the function; :class:`Undeliverable` if it would not."""
        method = case.method
        if not _TOKEN.fullmatch(method) or not method.isupper():
            raise Undeliverable("gunicorn refuses the method")
        if not case.target.startswith(("/", "http://", "https://")):
            # Neither origin- nor absolute-form: no client sends it, no front end passes it.
            raise Undeliverable("not a request target")
        headers: dict[str, str] = {}
        for name, value in case.headers.items():
            if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
                raise Undeliverable("gunicorn refuses the header")
            if name.lower() in {"content-length", "host"}:
                continue
            # What reaches WSGI: the bytes sent, as latin-1.
            headers[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
        chunked = headers.pop("Transfer-Encoding", "").lower() == "chunked"
        environ = EnvironBuilder(
            method=method,
            headers=list(headers.items()),
            input_stream=io.BytesIO(case.body) if chunked else None,
            data=None if chunked else case.body,
        ).get_environ()
        # The request target as gunicorn passes it on: as sent, and its path percent-decoded.
        target = case.target
        path, _, query = target.partition("?")
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        environ.update(
            RAW_URI=target,
            REQUEST_URI=target,
            PATH_INFO=unquote_to_bytes(path).decode("latin-1"),
            QUERY_STRING=query,
        )
        if chunked:
            environ["wsgi.input_terminated"] = True
        # Straight to the WSGI app: the test client would rebuild the environ from a URL,
        # and read "//x" as the host x.
        body, status, answer_headers = run_wsgi_app(client.application, environ, buffered=True)
        return Answer(int(status.split()[0]), dict(answer_headers), b"".join(body))

    def push(self, message: Any) -> Answer:
        """Pub/Sub's push of ``message`` (a PubSubCase, or a message a function published)."""
        case = message if isinstance(message, PubSubCase) else _as_case(message)
        response = self.processor.post(
            case.push_path,
            data=json.dumps(case.push_envelope(SUBSCRIPTION)),
            headers={"Content-Type": "application/json"},
        )
        return Answer(response.status_code, dict(response.headers), response.get_data())


def _access_fakes() -> list[tuple[type, str, object]]:
    """The pos function's token verifier and grants, where it has them."""
    try:
        from shared.adapters import firestore_grants, id_tokens
        from shared.adapters.memory import InMemoryGrantStore
        from shared.domain.grants import Grant
        from shared.errors import InvalidToken
        from shared.ports import IdTokenVerifier
    except ImportError:
        return []

    class Verifier(IdTokenVerifier):
        def verify(self, token: str) -> str:
            if not token.startswith(TOKEN_PREFIX):
                raise InvalidToken("not a fuzz token")
            return token.removeprefix(TOKEN_PREFIX)

    grants = InMemoryGrantStore(*(Grant(identity, units) for identity, units in GRANTS.items()))
    return [
        (id_tokens.GoogleIdTokenVerifier, "from_settings", Verifier()),
        (firestore_grants.FirestoreGrantStore, "from_settings", grants),
    ]


class Undeliverable(Exception):
    """The request or message never reaches the function (gunicorn or Pub/Sub refuse it)."""


def _as_case(message: Any) -> PubSubCase:
    from shared.domain import messages

    store_update = getattr(messages, "StoreUpdateMessage", ())
    return PubSubCase(
        message.data,
        dict(message.attributes),
        "pushed-" + hashlib.sha256(message.data).hexdigest()[:8],
        ordering_key=message.ordering_key,
        push_path=STORE_UPDATES_PATH if isinstance(message, store_update) else "/",
    )


def deliverable(case: PubSubCase) -> PubSubCase:
    """What Pub/Sub would deliver of a case; :class:`Undeliverable` when it would refuse it."""
    attributes = dict(list(case.attributes.items())[:_MAX_ATTRIBUTES])
    for key, value in attributes.items():
        try:
            key_bytes, value_bytes = key.encode("utf-8"), value.encode("utf-8")
        except UnicodeEncodeError:
            raise Undeliverable("an attribute is not UTF-8") from None
        if (
            not key_bytes
            or len(key_bytes) > _MAX_ATTRIBUTE_KEY_BYTES
            or len(value_bytes) > _MAX_ATTRIBUTE_VALUE_BYTES
            or key.startswith("goog")
        ):
            raise Undeliverable("Pub/Sub refuses the attribute")
    if not case.data and not attributes:
        raise Undeliverable("a message needs data or an attribute")
    try:
        key_size = len(case.ordering_key.encode("utf-8"))
        case.message_id.encode("utf-8")
    except UnicodeEncodeError:
        raise Undeliverable("not UTF-8") from None
    if key_size > _MAX_ORDERING_KEY_BYTES:
        raise Undeliverable("Pub/Sub refuses the ordering key")
    return PubSubCase(
        case.data, attributes, case.message_id, case.publish_time, case.ordering_key, case.push_path
    )


_deployment: Deployment | None = None


def deployment() -> Deployment:
    global _deployment
    if _deployment is None:
        _deployment = Deployment()
    return _deployment


# --- the oracles --------------------------------------------------------------------------


def check_answer(case: HttpCase, answer: Answer, errors: str = "") -> None:
    """Every answer: no 5xx; a 4xx a problem document leaking nothing; what the service
    writes itself (a 202, a search's page) JSON. An order's body is answered as stored,
    and a hand-made message may have stored anything."""
    where = f"{case.method} {case.target[:200]}"
    if answer.status >= 500:
        raise Finding(f"{where} answered {answer.status}: {errors or answer.body[:300]!r}")
    text = answer.body.decode("utf-8", "replace")
    for marker in LEAK_MARKERS:
        if marker.lower() in text.lower():
            raise Finding(f"{where}: the answer leaks {marker!r}: {text[:300]}")
    kind = answer.headers.get("Content-Type", "").split(";")[0]
    if answer.status >= 400:
        if kind != PROBLEM_CONTENT_TYPE:
            raise Finding(f"{where} answered {answer.status} as {kind!r}, not problem+json")
        if case.method == "HEAD":
            return
        document = json.loads(answer.body)
        if not (
            isinstance(document, dict)
            and document.get("status") == answer.status
            and str(document.get("type", "")).startswith("urn:customer-order-events:problem:")
            and isinstance(document.get("title"), str)
            and isinstance(document.get("detail"), str)
        ):
            raise Finding(f"{where}: not a problem document of ours: {text[:300]}")
    elif answer.status == 202 or (
        answer.status == 200
        and case.method == "POST"
        and not case.target.split("?")[0].endswith(":pickup")
    ):
        json.loads(answer.body)


# --- the targets --------------------------------------------------------------------------


def fuzz_ingest(data: bytes) -> None:
    world = deployment()
    world.begin()
    case = parse_http_case(data)
    try:
        answer = world.send(world.ingest, case)
    except Undeliverable:
        return
    check_answer(case, answer, world.errors.text)
    published = list(world.orders.published)
    if answer.status != 202:
        if published:
            raise Finding(f"answered {answer.status} but published {len(published)} message(s)")
        return
    if len(published) != 1 or published[0].data != case.body:
        raise Finding("a 202 did not publish exactly the body sent")
    stored = world.push(published[0])
    if stored.status != 200:
        raise Finding(f"an order accepted with 202 was not stored: {stored} {world.errors.text}")
    got = world.send(world.ingest, HttpCase("GET", case.target.split("?")[0]))
    check_answer(case, got, world.errors.text)
    if got.status != 200:
        raise Finding(f"an order accepted and stored is not served: GET answered {got.status}")
    _serve_what_was_stored(world)


def fuzz_pos(data: bytes) -> None:
    world = deployment()
    world.begin()
    case = parse_http_case(data)
    try:
        answer = world.send(world.pos, case)
    except Undeliverable:
        return
    check_answer(case, answer, world.errors.text)
    published = list(world.orders.published)
    if answer.status >= 300 and published:
        raise Finding(f"answered {answer.status} but published {len(published)} message(s)")
    for message in published:
        processed = world.push(message)
        if processed.status != 200:
            raise Finding(f"the processor refused the pos's message: {processed}")


def fuzz_processor(data: bytes) -> None:
    world = deployment()
    world.begin()
    try:
        case = deliverable(parse_pubsub_case(data))
    except Undeliverable:
        return
    answer = world.push(case)
    if answer.status not in (200, 422):
        raise Finding(f"the push answered {answer.status}: {world.errors.text}")
    _serve_what_was_stored(world)


def _serve_what_was_stored(world: Deployment) -> None:
    """The orders announced: GET through pos without a 5xx, and each picked up."""
    from shared.domain.addresses import order_location, pickup_location

    for event in list(world.events.published):
        location = order_location(event.business_unit_id, event.customer_order_id)
        got = world.send(world.pos, HttpCase("GET", location))
        check_answer(HttpCase("GET", location), got, world.errors.text)
        world.orders.published.clear()
        pickup = HttpCase("POST", pickup_location(event.business_unit_id, event.customer_order_id))
        picked = world.send(world.pos, pickup)
        check_answer(pickup, picked, world.errors.text)
        for message in list(world.orders.published):
            processed = world.push(message)
            if processed.status != 200:
                raise Finding(f"the processor refused the pickup of {location}: {processed}")


def fuzz_dlq(data: bytes) -> None:
    from google.cloud.pubsub_v1 import types

    from shared.config import DEFAULT_STORE_UPDATES_SUBSCRIPTION
    from shared.tools.dlq import filters, queue, render
    from shared.tools.dlq.replay_message import ReplayTopics, build_replay_message

    try:
        case = deliverable(parse_pubsub_case(data))
    except Undeliverable:
        return
    try:
        published = datetime.fromisoformat(case.publish_time.replace("Z", "+00:00"))
        published.astimezone(UTC)
    except (ValueError, OverflowError):
        published = NOW
    received = types.ReceivedMessage(
        ack_id="fuzz",
        message=types.PubsubMessage(
            data=case.data,
            attributes=case.attributes,
            message_id=case.message_id,
            publish_time=published,
            ordering_key=case.ordering_key,
        ),
        delivery_attempt=5,
    )
    letter = queue._dead_letter(received, DEFAULT_STORE_UPDATES_SUBSCRIPTION)
    # What each command prints of it, as orders-dlq's list, show and replay print it.
    shown = [
        *render.list_lines([letter], NOW),
        *render.detail_lines(letter, NOW),
        json.dumps([render.summary_json(letter, NOW)], indent=2),
        json.dumps([render.detail_json(letter, NOW)], indent=2),
        render.describe(letter),
    ]
    if not all(isinstance(line, str) for line in shown):
        raise Finding("orders-dlq printed something that is not text")
    filters.select([letter], filters.Selection(), NOW, letter_of=lambda item: item)
    if letter.problem is not None or letter.order is None or letter.is_event:
        return
    # A pickup's fate depends on the stored order, which orders-dlq does not read.
    acked = (200, 422) if letter.attributes.get("kind") else (200,)
    world = deployment()
    world.begin()
    # Replayed to the topic it came from: pushed to that topic's path of the processor.
    topics = ReplayTopics(orders="orders", store_updates="store-updates")
    replay = build_replay_message(letter, NOW, topics)
    answer = world.push(
        PubSubCase(
            replay.data,
            replay.attributes,
            "replayed",
            ordering_key=replay.ordering_key,
            push_path=STORE_UPDATES_PATH if replay.topic == topics.store_updates else "/",
        )
    )
    if answer.status not in acked:
        raise Finding(f"orders-dlq calls it replayable, the processor answered {answer.status}")


_EXPORTS = Path(tempfile.gettempdir()) / f"fuzz-sync-{os.getpid()}"


def fuzz_sync(data: bytes) -> None:
    from shared.domain.addresses import order_location
    from shared.tools.sync.client import order_bytes
    from shared.tools.sync.records import OrderRecord, expand_inputs, read_records, scan_inputs
    from shared.tools.sync.versions import DEFAULT_SOURCE, VersionSource

    _EXPORTS.mkdir(exist_ok=True)
    export = _EXPORTS / "export.ndjson"
    export.write_bytes(data)
    inputs = scan_inputs(expand_inputs([str(export)]))
    world = deployment()
    sent = 0
    for versions in (DEFAULT_SOURCE, VersionSource.from_pointer("/customerOrder/version")):
        for record in read_records(inputs, versions):
            if not isinstance(record, OrderRecord) or sent >= 3:
                continue
            sent += 1
            world.begin()
            headers = {"Content-Type": "application/json"}
            if record.source_version is not None:
                headers["Source-Version"] = str(record.source_version)
            path = order_location(record.business_unit_id, record.customer_order_id)
            case = HttpCase("PUT", path, headers, order_bytes(record.customer_order))
            answer = world.send(world.ingest, case)
            check_answer(case, answer, world.errors.text)
            if answer.status == 400 and b"malformed-json" in answer.body:
                raise Finding(f"orders-sync sent a record ingest refuses as JSON: {answer.body!r}")


@dataclass(frozen=True)
class Target:
    run: Callable[[bytes], None]
    # The case format, and so its mutator (tests/fuzz/mutations.py).
    format: str
    # libFuzzer's -max_len: room for an order with a few hundred items.
    max_len: int = 64 * 1024


TARGETS: dict[str, Target] = {
    "ingest": Target(fuzz_ingest, "http"),
    "pos": Target(fuzz_pos, "http"),
    "processor": Target(fuzz_processor, "pubsub"),
    "dlq": Target(fuzz_dlq, "pubsub"),
    "sync": Target(fuzz_sync, "ndjson"),
}


def corpus_dir(target: str) -> Path:
    return Path(__file__).parent / "corpus" / target
