"""Each outage fires its alerts, judged on the lines the real functions write during it.

The functions run as on Cloud Run (``K_SERVICE`` set: JSON lines) against the session's
emulators, and each outage is made for real where the emulators allow it:

- **topic missing**: the orders topic is deleted on the Pub/Sub emulator under running
  ingest and pos functions (ingest's publishes fail with NotFound; pos publishes its
  pickups to the store updates' topic, which stays);
- **Firestore down**: ingest, pos and the processor pointed at a port where nothing listens;
- **pos unable to publish**: the pos function pointed at a Pub/Sub port where nothing listens;
- **publisher grant lost**: the emulator has no IAM, so ingest's service runs in this
  process with the real Pub/Sub client, whose channel answers every Publish with
  PERMISSION_DENIED (a gRPC interceptor); the rest of the client, the adapter and the
  service are the real ones, the store the real emulator's.

Each run sends the same mix: PUTs, GETs and searches on ingest, GETs, searches and pickups
on pos. Its lines, plus Cloud Run's request-log entry for each answer (the answer's method,
URL and status: that log cannot be produced here, tests/logging_query.py builds it), are one
minute of traffic, repeated once a minute: an hour of normal traffic, then an hour of the
outage. A function an outage does not touch keeps its normal minute. The policies of
terraform/ (burn rates, outage alerts) are evaluated every minute over the points their
log-based metrics get (tests/monitoring_query.py, tests/terraform/alerts.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
import requests

from shared.domain.addresses import order_location, pickup_location, search_location
from shared.domain.http import HttpRequest
from shared.domain.jsonbody import dump_json
from shared.log import LOGGER_NAME, OrderIdsFilter, structured_handler
from shared.tools.devstack import LocalStack, free_ports, http_request
from tests.logging_query import (
    INGEST,
    POS,
    PROCESSOR,
    Entry,
    cloud_run_entries,
    cloud_run_entry,
    process_decisions,
    request_log_entry,
)
from tests.monitoring_query import Policy, Timeline, first_met, metric_points
from tests.support import (
    create_push_subscription,
    create_topic,
    order_body,
    pubsub_base,
    running_function,
    unique_id,
    wait_for,
)
from tests.terraform.alerts import alert_policies
from tests.terraform.tfconfig import load

pytestmark = pytest.mark.integration

ON_CLOUD_RUN = {"K_SERVICE": "set"}
BU = "BU1"
MINUTE = 60.0
# An hour of normal traffic before each outage, an hour of the outage.
NORMAL_MINUTES = 60
OUTAGE_MINUTES = 60
# Each alert that fires, fires within this many minutes of the outage's start.
FIRES_WITHIN_MINUTES = 20

BURN = ("fast_burn", "slow_burn")
EXPECTED = {
    "publisher grant lost": {
        *(f"availability_{speed}" for speed in BURN),
        "intake_outage",
    },
    # The orders topic only: pickups go to the store updates' topic.
    "topic missing": {
        *(f"availability_{speed}" for speed in BURN),
        "intake_outage",
    },
    "Firestore down": {
        *(f"reads_{speed}" for speed in BURN),
        *(f"pickups_{speed}" for speed in BURN),
        "processor_outage",
    },
    "pos unable to publish": {f"pickups_{speed}" for speed in BURN},
}


@dataclass
class Minute:
    """One minute of traffic: each function's entries, the request log's among them."""

    by_service: dict[str, list[Entry]] = field(
        default_factory=lambda: {INGEST: [], POS: [], PROCESSOR: []}
    )

    def entries(self) -> list[Entry]:
        return [entry for entries in self.by_service.values() for entry in entries]

    def with_service(self, other: Minute, service: str) -> Minute:
        """This minute with ``service``'s entries taken from ``other``."""
        return Minute({**self.by_service, service: list(other.by_service[service])})


class LogFile:
    """A running function's JSON lines, read as they come."""

    def __init__(self, path: Path, service: str) -> None:
        self.path, self.service, self._offset = path, service, 0

    def new_entries(self) -> list[Entry]:
        text = self.path.read_bytes()[self._offset :]
        self._offset += len(text)
        return cloud_run_entries(text.decode(), self.service)

    def decisions(self) -> list[str]:
        return process_decisions(cloud_run_entries(self.path.read_text(), self.service))


class Caller:
    """Sends requests and keeps Cloud Run's request-log entry of each answer."""

    def __init__(self, http: requests.Session, minute: Minute) -> None:
        self.http, self.minute = http, minute

    def record(self, service: str, method: str, path: str, status: int) -> int:
        url = f"https://{service}-abc123-ew.a.run.app{path}"
        self.minute.by_service[service].append(request_log_entry(service, method, status, url))
        return status

    def send(self, service: str, base: str, method: str, path: str, body: Any = None) -> int:
        answer = self.http.request(
            method,
            base + path,
            data=None if body is None else dump_json(body),
            headers={"Content-Type": "application/json"} if body is not None else {},
            timeout=30,
        )
        return self.record(service, method, path, answer.status_code)


def _reads_and_pickups(
    caller: Caller, ingest: str | None, pos: str | None, stored: str, picked: str
) -> list[int]:
    """The mix of reads and pickups of every run; the statuses answered, in order."""
    statuses = []
    if ingest is not None:
        statuses += [
            caller.send(INGEST, ingest, "GET", order_location(BU, stored)),
            caller.send(INGEST, ingest, "GET", order_location(BU, unique_id())),
            caller.send(INGEST, ingest, "POST", search_location(BU), {"customerId": "C-1"}),
        ]
    if pos is not None:
        statuses += [
            caller.send(POS, pos, "GET", order_location(BU, stored)),
            caller.send(POS, pos, "POST", search_location(BU), {"customerId": "C-1"}),
            caller.send(POS, pos, "POST", pickup_location(BU, picked)),
            caller.send(POS, pos, "POST", pickup_location(BU, unique_id())),
        ]
    return statuses


def _puts(caller: Caller, ingest: str, orders: Sequence[str]) -> list[int]:
    statuses = [
        caller.send(INGEST, ingest, "PUT", order_location(BU, order), order_body(order))
        for order in orders
    ]
    # A refusal, whatever the outage: a 4xx is never bad.
    refused = unique_id()
    statuses.append(
        caller.send(
            INGEST, ingest, "PUT", order_location(BU, refused), order_body(refused, customerId=None)
        )
    )
    return statuses


def _dead_port() -> str:
    return f"127.0.0.1:{free_ports(1)[0]}"


@dataclass
class Runs:
    normal: Minute
    outages: dict[str, Minute]


@pytest.fixture(scope="module")
def runs(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    logs = tmp_path_factory.mktemp("outage-alerts")
    subscriptions: list[str] = []
    try:
        with requests.Session() as http:
            yield _run_all(stack, http, logs, subscriptions)
    finally:
        # Messages that cannot be stored would be pushed on for the rest of the session.
        for subscription in subscriptions:
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{subscription}")


def _run_all(
    stack: LocalStack, http: requests.Session, logs: Path, subscriptions: list[str]
) -> Runs:
    normal, missing = Minute(), Minute()
    # Stored by the normal run; each run picks up one that no run before it did.
    orders = [unique_id() for _ in range(4)]
    topic = unique_id("outage-alerts")
    create_topic(stack, topic)
    with contextlib.ExitStack() as running:
        processor = running.enter_context(
            running_function("processor", stack, log_path=logs / "processor.log", **ON_CLOUD_RUN)
        )
        subscriptions.append(f"{topic}-push")
        create_push_subscription(stack, topic, f"{topic}-push", f"{processor}/")
        ingest = running.enter_context(
            running_function(
                "ingest", stack, ORDERS_TOPIC=topic, log_path=logs / "ingest.log", **ON_CLOUD_RUN
            )
        )
        pos = running.enter_context(
            running_function(
                "pos", stack, ORDERS_TOPIC=topic, log_path=logs / "pos.log", **ON_CLOUD_RUN
            )
        )
        files = {
            INGEST: LogFile(logs / "ingest.log", INGEST),
            POS: LogFile(logs / "pos.log", POS),
            PROCESSOR: LogFile(logs / "processor.log", PROCESSOR),
        }

        # Normal traffic: every answer what it should be, every order stored.
        caller = Caller(http, normal)
        assert _puts(caller, ingest, orders) == [202, 202, 202, 202, 422]
        wait_for(lambda: files[PROCESSOR].decisions().count("stored") == 4, timeout=60)
        assert _reads_and_pickups(caller, ingest, pos, orders[0], orders[1]) == [
            200, 404, 200, 200, 200, 200, 404,
        ]  # fmt: skip
        for service, file in files.items():
            normal.by_service[service] += file.new_entries()

        # Topic missing: deleted under the running functions.
        status, body = http_request("DELETE", f"{pubsub_base(stack)}/topics/{topic}")
        assert status == 200, body
        caller = Caller(http, missing)
        assert _puts(caller, ingest, [unique_id() for _ in range(3)]) == [503, 503, 503, 422]
        assert _reads_and_pickups(caller, ingest, pos, orders[0], orders[2]) == [
            200, 404, 200, 200, 200, 200, 404,
        ]  # fmt: skip
        for service in (INGEST, POS):
            missing.by_service[service] += files[service].new_entries()
        assert "NotFound" in _unavailable_causes(missing.by_service[INGEST])

    return Runs(
        normal,
        {
            "topic missing": missing,
            "Firestore down": _firestore_down(stack, http, logs, subscriptions, orders),
            "pos unable to publish": _pos_unable_to_publish(stack, http, logs, orders)
            .with_service(normal, INGEST)
            .with_service(normal, PROCESSOR),
            "publisher grant lost": _publisher_grant_lost(stack, http, orders).with_service(
                normal, POS
            ),
        },
    )


def _payloads(entries: list[Entry]) -> list[dict[str, Any]]:
    """The functions' own fields; the request log's entries have none."""
    return [entry["jsonPayload"] for entry in entries if "jsonPayload" in entry]


def _unavailable_causes(entries: list[Entry]) -> str:
    return " ".join(
        payload.get("message", "")
        for payload in _payloads(entries)
        if payload.get("outcome") == "unavailable"
    )


def _firestore_down(
    stack: LocalStack,
    http: requests.Session,
    logs: Path,
    subscriptions: list[str],
    orders: list[str],
) -> Minute:
    minute = Minute()
    topic = unique_id("firestore-down")
    create_topic(stack, topic)
    broken = {"FIRESTORE_EMULATOR_HOST": _dead_port(), "FIRESTORE_TIMEOUT_SECONDS": "0.5"}
    with contextlib.ExitStack() as running:
        processor = running.enter_context(
            running_function(
                "processor", stack, log_path=logs / "processor-down.log", **broken, **ON_CLOUD_RUN
            )
        )
        subscriptions.append(f"{topic}-push")
        create_push_subscription(stack, topic, f"{topic}-push", f"{processor}/")
        ingest, pos = (
            running.enter_context(
                running_function(
                    name,
                    stack,
                    ORDERS_TOPIC=topic,
                    log_path=logs / f"{name}-down.log",
                    **broken,
                    **ON_CLOUD_RUN,
                )
            )
            for name in ("ingest", "pos")
        )
        caller = Caller(http, minute)
        # PUTs only publish: still accepted.
        assert _puts(caller, ingest, [unique_id() for _ in range(3)]) == [202, 202, 202, 422]
        assert _reads_and_pickups(caller, ingest, pos, orders[0], orders[3]) == [503] * 7
        processor_log = LogFile(logs / "processor-down.log", PROCESSOR)
        wait_for(lambda: processor_log.decisions().count("unavailable") >= 3, timeout=60)
        http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{topic}-push")
        minute.by_service[PROCESSOR] += processor_log.new_entries()
        for name, service in (("ingest", INGEST), ("pos", POS)):
            minute.by_service[service] += LogFile(logs / f"{name}-down.log", service).new_entries()
    assert "stored" not in {payload.get("decision") for payload in _payloads(minute.entries())}
    return minute


def _pos_unable_to_publish(
    stack: LocalStack, http: requests.Session, logs: Path, orders: list[str]
) -> Minute:
    minute = Minute()
    with running_function(
        "pos",
        stack,
        PUBSUB_EMULATOR_HOST=_dead_port(),
        PUBLISH_TIMEOUT_SECONDS="1",
        log_path=logs / "pos-unpublished.log",
        **ON_CLOUD_RUN,
    ) as pos:
        caller = Caller(http, minute)
        assert _reads_and_pickups(caller, None, pos, orders[0], orders[3]) == [200, 200, 503, 404]
    minute.by_service[POS] += LogFile(logs / "pos-unpublished.log", POS).new_entries()
    assert "publish-unavailable" in {
        payload.get("problemType") for payload in _payloads(minute.by_service[POS])
    }
    return minute


class _PermissionDenied(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """What Pub/Sub answers a publisher without roles/pubsub.publisher."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.PERMISSION_DENIED

    def details(self) -> str:
        return "User not authorized to perform this action."

    def initial_metadata(self) -> None:
        return None

    def trailing_metadata(self) -> None:
        return None

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False


class _DenyPublish(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        if details.method.endswith("/Publish"):
            raise _PermissionDenied()
        return continuation(details, request)


@contextlib.contextmanager
def _json_lines() -> Iterator[io.StringIO]:
    """The project's log lines as StructuredLogHandler writes them on Cloud Run."""
    stream = io.StringIO()
    handler = structured_handler(stream)
    handler.addFilter(OrderIdsFilter())
    root = logging.getLogger(LOGGER_NAME)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _publisher_grant_lost(stack: LocalStack, http: requests.Session, orders: list[str]) -> Minute:
    from google.pubsub_v1 import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    from shared.adapters.firestore import FirestoreOrderStore
    from shared.adapters.pubsub import PubSubOrderPublisher, TopicPublisher
    from shared.api.oms import oms_api
    from shared.config import Settings

    settings = Settings(project_id=stack.config.project_id, orders_topic=stack.config.orders_topic)
    channel = grpc.intercept_channel(
        grpc.insecure_channel(stack.config.pubsub_host), _DenyPublish()
    )
    client = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
    api = oms_api(
        PubSubOrderPublisher(TopicPublisher(client, settings.orders_topic_path, timeout_seconds=3)),
        FirestoreOrderStore.from_settings(settings),
        retry_after_seconds=settings.retry_after_seconds,
    )
    minute = Minute()

    class InProcess(Caller):
        def send(self, service: str, base: str, method: str, path: str, body: Any = None) -> int:
            data = b"" if body is None else dump_json(body)
            answer = api.handle(
                HttpRequest(
                    method=method,
                    raw_path=path,
                    content_type="application/json" if body is not None else None,
                    content_length=len(data),
                    body=io.BytesIO(data),
                )
            )
            return self.record(service, method, path, answer.status)

    with _json_lines() as lines:
        caller = InProcess(http, minute)
        assert _puts(caller, "", [unique_id() for _ in range(3)]) == [503, 503, 503, 422]
        assert _reads_and_pickups(caller, "", None, orders[0], orders[1]) == [200, 404, 200]
    minute.by_service[INGEST] += [
        cloud_run_entry(line, INGEST) for line in lines.getvalue().splitlines()
    ]
    assert "PermissionDenied" in _unavailable_causes(minute.by_service[INGEST])
    return minute


# --- The evaluation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policies() -> tuple[dict[str, Policy], Any]:
    return alert_policies(load())


def _timeline(minutes: Sequence[Minute], metrics: Any) -> Timeline:
    """The minutes in a row, each one's entries spread evenly over its 60 seconds."""
    timed = []
    for index, minute in enumerate(minutes):
        entries = minute.entries()
        for position, entry in enumerate(entries):
            timed.append((index * MINUTE + (position + 1) * MINUTE / (len(entries) + 1), entry))
    return Timeline(metric_points(timed, metrics))


def _fired(
    policies: dict[str, Policy], timeline: Timeline, start: float, end: float
) -> dict[str, float]:
    """Each policy met at an evaluation in [start, end], with the first such time."""
    fired = {}
    for name, policy in policies.items():
        when = first_met(policy, timeline, start, end)
        if when is not None:
            fired[name] = when
    return fired


def test_normal_traffic_fires_no_alert(runs: Runs, policies: tuple[dict[str, Policy], Any]) -> None:
    by_name, metrics = policies
    minutes = NORMAL_MINUTES + OUTAGE_MINUTES
    timeline = _timeline([runs.normal] * minutes, metrics)
    # Every policy was evaluated on data: each SLO saw events, and orders were stored.
    assert len(timeline.points) > minutes * 10
    assert _fired(by_name, timeline, MINUTE, minutes * MINUTE) == {}


@pytest.mark.parametrize("outage", sorted(EXPECTED))
def test_each_outage_fires_its_alerts_and_no_other(
    outage: str, runs: Runs, policies: tuple[dict[str, Policy], Any]
) -> None:
    by_name, metrics = policies
    minutes = [runs.normal] * NORMAL_MINUTES + [runs.outages[outage]] * OUTAGE_MINUTES
    timeline = _timeline(minutes, metrics)
    start = NORMAL_MINUTES * MINUTE
    assert _fired(by_name, timeline, MINUTE, start) == {}, "fired before the outage"
    fired = _fired(by_name, timeline, start, len(minutes) * MINUTE)
    assert set(fired) == EXPECTED[outage]
    late = {name: (when - start) / MINUTE for name, when in fired.items()}
    assert max(late.values()) <= FIRES_WITHIN_MINUTES, late
