"""terraform/'s log-based metrics over the lines the functions really write on the emulators.

The functions run as on Cloud Run (``K_SERVICE`` set, so each line is the JSON of
StructuredLogHandler) against the session's emulators, through an orders topic and a
store-updates topic of their own, each pushed to the processor's path for it. A short run
covers every outcome a PUT can have but a bug's 500, the store updates recorded, repeated
and refused, and every decision but Firestore being down; each line becomes the LogEntry Cloud
Run's agent makes of it, and each metric's filter and extractors, as Terraform evaluates
them, are applied to those entries. Cloud Run's own request log cannot be produced here:
its entries are built from the answers this run received, plus a crash, a timeout, a 503
and a 429 (no instance free) of Cloud Run's own, which no line of the functions accompanies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.domain.addresses import order_location, pickup_location, ready_location
from shared.domain.conflict import Version
from shared.domain.jsonbody import dump_json
from shared.domain.messages import STORE_UPDATES_PUSH_PATH, StoreUpdateMessage
from shared.domain.store_updates import Basis, StoreUpdate, UpdateKind
from shared.domain.timestamps import parse_timestamp
from shared.tools.devstack import LocalStack, http_request
from tests.logging_query import (
    INGEST,
    POS,
    PROCESSOR,
    Entry,
    cloud_run_entries,
    compile_filter,
    extract,
    extract_value,
    process_decisions,
    request_log_entry,
)
from tests.support import (
    create_push_subscription,
    create_topic,
    order_body,
    order_message,
    pubsub_base,
    running_function,
    unique_id,
    wait_for,
)
from tests.terraform.observability import evaluate

pytestmark = pytest.mark.integration

# The processor's changes that record a store update.
STORE_UPDATE_CHANGES = ("ready", "pickup")
# BU1 gets a label of its own, every other business unit the empty one.
LABELLED = {"business_unit_label_values": '["BU1"]'}


@dataclass
class Run:
    entries: list[Entry] = field(default_factory=list)
    # (business unit, order, status) of every PUT sent, in order.
    puts: list[tuple[str, str, int]] = field(default_factory=list)
    # The request log Cloud Run would have written for this run, and for three failures
    # that never reach the code.
    request_log: list[Entry] = field(default_factory=list)
    received_at: dict[str, str] = field(default_factory=dict)


def _decisions(path: Path, changes: Container[str] | None = None) -> list[str]:
    return process_decisions(cloud_run_entries(path.read_text(), PROCESSOR), changes)


@pytest.fixture(scope="module")
def run(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    logs = tmp_path_factory.mktemp("log-metrics")
    topic = unique_id("log-metrics")
    create_topic(stack, topic)
    create_topic(stack, f"{topic}-store-updates")
    result = Run()
    try:
        _scenario(stack, topic, logs, result)
    finally:
        # The undecodable message would be pushed on for the rest of the session.
        for subscription in (f"{topic}-push", f"{topic}-store-updates-push"):
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{subscription}")
    result.entries = (
        cloud_run_entries((logs / "ingest.log").read_text(), INGEST)
        + cloud_run_entries((logs / "ingest-unavailable.log").read_text(), INGEST)
        + cloud_run_entries((logs / "processor.log").read_text(), PROCESSOR)
        + cloud_run_entries((logs / "pos.log").read_text(), POS)
    )
    result.request_log = [request_log_entry(INGEST, "PUT", status) for _, _, status in result.puts]
    result.request_log += [request_log_entry(INGEST, "GET", 404)]
    result.request_log += [
        request_log_entry(INGEST, "PUT", status) for status in (429, 500, 503, 504)
    ]
    return result


def _scenario(stack: LocalStack, topic: str, logs: Path, result: Run) -> None:
    from google.cloud.pubsub_v1 import PublisherClient, types

    on_cloud_run = {"K_SERVICE": "set"}
    with (
        requests.Session() as http,
        running_function(
            "processor", stack, log_path=logs / "processor.log", **on_cloud_run
        ) as processor,
    ):
        create_push_subscription(stack, topic, f"{topic}-push", f"{processor}/")
        create_push_subscription(
            stack,
            f"{topic}-store-updates",
            f"{topic}-store-updates-push",
            processor + STORE_UPDATES_PUSH_PATH,
        )

        def put(base: str, bu: str, order: str, body: Any, version: str | None = None) -> int:
            answer = http.put(
                base + order_location(bu, order),
                # The bytes order_message publishes, so that a replay of it is the same version.
                data=body if isinstance(body, bytes) else dump_json(body),
                headers={
                    "Content-Type": "application/json",
                    **({"Source-Version": version} if version else {}),
                },
                timeout=30,
            )
            result.puts.append((bu, order, answer.status_code))
            if answer.status_code == 202:
                result.received_at[order] = answer.json()["receivedAt"]
            return answer.status_code

        first, versioned, unavailable = unique_id(), unique_id(), unique_id()
        with running_function(
            "ingest", stack, ORDERS_TOPIC=topic, log_path=logs / "ingest.log", **on_cloud_run
        ) as ingest:
            assert put(ingest, "BU1", first, order_body(first)) == 202
            assert put(ingest, "BU2", versioned, order_body(versioned), version="2") == 202
            assert put(ingest, "BU2", versioned, order_body(versioned), version="1") == 202
            assert put(ingest, "BU1", "X", order_body("X", customerId=None)) == 422
            assert put(ingest, "BU1", "__reserved__", order_body("__reserved__")) == 400
            assert put(ingest, "BU1", unique_id(), b"{not json") == 400
            # A GET is not a PUT: no PUT metric may count its refusal.
            missing = ingest + order_location("BU1", unique_id())
            assert http.get(missing, timeout=30).status_code == 404
        with running_function(
            "ingest",
            stack,
            ORDERS_TOPIC=unique_id("no-such-topic"),
            log_path=logs / "ingest-unavailable.log",
            **on_cloud_run,
        ) as broken:
            assert put(broken, "BU1", unavailable, order_body(unavailable)) == 503

        wait_for(lambda: _decisions(logs / "processor.log").count("stored") == 2, timeout=60)
        publisher = PublisherClient(
            publisher_options=types.PublisherOptions(enable_message_ordering=True)
        )
        topic_path = f"projects/{stack.config.project_id}/topics/{topic}"
        # The first order once more, as a redelivery or a replay would bring it.
        again = order_message("BU1", first, parse_timestamp(result.received_at[first]))
        publisher.publish(
            topic_path, again.data, ordering_key=again.ordering_key, **again.attributes
        ).result(timeout=10)
        publisher.publish(topic_path, b"not an order").result(timeout=10)
        wait_for(
            lambda: (
                {"stale", "duplicate", "undecodable"} <= set(_decisions(logs / "processor.log"))
            ),
            timeout=60,
        )

        # The store's side, as the local POS of every store: the first order readied, then
        # picked up (twice with one updateId: the POS retried), a second pickup under
        # another updateId refused (nothing is left), an unknown order refused; then the
        # OMS cancels the first order, too late.
        with running_function(
            "pos",
            stack,
            STORE_UPDATES_TOPIC=f"{topic}-store-updates",
            log_path=logs / "pos.log",
            **on_cloud_run,
        ) as pos:
            for location, update_id, status in (
                (ready_location("BU1", first), "till-1-ready", 200),
                (pickup_location("BU1", first), "till-1-pickup", 200),
                (pickup_location("BU1", first), "till-1-pickup", 200),
                (pickup_location("BU1", first), "till-2-pickup", 409),
                (ready_location("BU1", unique_id()), "till-1-unknown", 404),
            ):
                answer = http.post(pos + location, json={"updateId": update_id}, timeout=30)
                assert answer.status_code == status, answer.text
        # Each recorded update's own message, which finds it written by the pos function.
        wait_for(
            lambda: _decisions(logs / "processor.log", STORE_UPDATE_CHANGES) == ["duplicate"] * 2,
            timeout=60,
        )
        # Messages of updates the pos function died before writing, completed by the
        # processor: one decided on a version of the order that is gone, one of an order
        # that is not stored. Neither is recorded.
        updates_path = f"projects/{stack.config.project_id}/topics/{topic}-store-updates"
        for message in (
            _store_update("BU2", versioned, parse_timestamp(result.received_at[versioned])),
            _store_update("BU1", unique_id(), datetime.now(UTC)),
        ):
            publisher.publish(
                updates_path, message.data, ordering_key=message.ordering_key, **message.attributes
            ).result(timeout=10)
        wait_for(
            lambda: (
                _decisions(logs / "processor.log", STORE_UPDATE_CHANGES)[2:]
                == ["superseded", "not-recorded"]
            ),
            timeout=60,
        )
        cancellation = order_message(
            "BU1", first, datetime.now(UTC), order_body(first, status="CANCELLED")
        )
        publisher.publish(
            topic_path,
            cancellation.data,
            ordering_key=cancellation.ordering_key,
            **cancellation.attributes,
        ).result(timeout=10)
        wait_for(lambda: "conflict" in _decisions(logs / "processor.log"), timeout=60)


def _store_update(bu: str, order: str, decided_on: datetime) -> StoreUpdateMessage:
    """A pos function's message of readying the order's items, decided on ``decided_on``."""
    return StoreUpdateMessage(
        bu,
        order,
        StoreUpdate(unique_id("till-9"), UpdateKind.READY),
        recorded_at=datetime.now(UTC),
        basis=Basis(Version(decided_on - timedelta(days=1), 1), 0),
    )


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    value: dict[str, Any] = evaluate(
        "{counters = local.counter_metrics, lag = local.lag_metric}", LABELLED
    )
    return value


def series(metric: dict[str, Any], entries: list[Entry]) -> Counter[tuple[tuple[str, str], ...]]:
    """How many entries the metric counts, by its labels' values (a DELTA INT64 metric)."""
    selected = compile_filter(metric["filter"])
    counted: Counter[tuple[tuple[str, str], ...]] = Counter()
    for entry in entries:
        if selected(entry):
            labels = tuple(
                (key, extract(label["extractor"], entry))
                for key, label in sorted(metric["labels"].items())
            )
            counted[labels] += 1
    return counted


def total(counted: Counter[Any]) -> int:
    return sum(counted.values())


def test_put_outcomes_count_each_put_by_outcome_problem_type_and_labelled_business_unit(
    run: Run, metrics: dict[str, Any]
) -> None:
    counted = series(metrics["counters"]["put_outcomes"], run.entries)
    assert {dict(labels).get("business_unit") for labels in counted} <= {"BU1", ""}

    def key(outcome: str, problem: str, unit: str) -> tuple[tuple[str, str], ...]:
        return (("business_unit", unit), ("outcome", outcome), ("problem_type", problem))

    assert counted == {
        key("accepted", "", "BU1"): 1,
        # BU2 is not in business_unit_label_values: it counts under the empty value.
        key("accepted", "", ""): 2,
        # Refusals are logged inside the order's context too; only a path whose ids
        # are invalid has no unit to name.
        key("refused", "validation-failed", "BU1"): 1,
        key("refused", "invalid-id", ""): 1,
        key("refused", "malformed-json", "BU1"): 1,
        key("unavailable", "publish-unavailable", "BU1"): 1,
    }
    # One line per PUT, none for the GET, whatever else the functions logged.
    assert total(counted) == len(run.puts)


def test_processor_decisions_count_each_delivery_by_decision_and_rule(
    run: Run, metrics: dict[str, Any]
) -> None:
    counted = series(metrics["counters"]["processor_decisions"], run.entries)
    decisions = {dict(labels)["decision"] for labels in counted}
    by_rule: Counter[tuple[str, str, str]] = Counter()
    for labels, n in counted.items():
        values = dict(labels)
        by_rule[values["decision"], values["rule"], values["business_unit"]] += n
    assert by_rule[("stored", "first", "BU1")] == 1
    assert by_rule[("stored", "first", "")] == 1
    assert by_rule[("stale", "sourceVersion", "")] == 1
    assert by_rule[("duplicate", "receivedAt", "BU1")] == 1
    # Each store update's own message, which found the update recorded by the pos function.
    assert by_rule[("duplicate", "store", "BU1")] == 2
    assert by_rule[("conflict", "pickup", "BU1")] == 1
    by_change: Counter[tuple[str, str]] = Counter()
    for labels, n in counted.items():
        values = dict(labels)
        by_change[values["decision"], values["change"]] += n
    assert by_change[("duplicate", "ready")] == by_change[("duplicate", "pickup")] == 1
    assert by_change[("conflict", "cancellation")] == 1
    assert by_change[("superseded", "ready")] == by_change[("not-recorded", "ready")] == 1
    # An undecodable message has no change, it was never known.
    assert by_change[("undecodable", "")] >= 1
    # Nacked, so the emulator delivers it again until the run ends.
    assert by_rule[("undecodable", "", "")] >= 1
    assert by_rule[("superseded", "store", "")] == 1
    assert decisions == {
        "stored",
        "stale",
        "duplicate",
        "undecodable",
        "conflict",
        "superseded",
        "not-recorded",
    }


def test_events_published_count_each_event_by_type(run: Run, metrics: dict[str, Any]) -> None:
    counted = series(metrics["counters"]["events_published"], run.entries)
    by_type: Counter[str] = Counter()
    for labels, n in counted.items():
        by_type[dict(labels)["event_type"]] += n
    # The two first versions, and the duplicate of one of them, which announces it again;
    # the stale version announces nothing; each store update once, and the refused
    # cancellation.
    assert by_type == {
        "customer-order.created": 3,
        "customer-order.ready-for-pickup": 1,
        "customer-order.picked-up": 1,
        "customer-order.cancellation-refused": 1,
    }


def test_store_updates_count_each_answer_by_event_and_outcome_and_conflicts_each_refusal(
    run: Run, metrics: dict[str, Any]
) -> None:
    pickups = series(metrics["counters"]["pickups"], run.entries)
    by_outcome: Counter[tuple[str, str, str, str]] = Counter()
    for labels, n in pickups.items():
        values = dict(labels)
        by_outcome[
            values["event"], values["outcome"], values["problem_type"], values["business_unit"]
        ] += n
    assert by_outcome == {
        ("ready", "recorded", "", "BU1"): 1,
        ("pickup", "recorded", "", "BU1"): 1,
        ("pickup", "repeated", "", "BU1"): 1,
        ("pickup", "refused", "already-picked-up", "BU1"): 1,
        ("ready", "refused", "not-found", "BU1"): 1,
    }
    conflicts = series(metrics["counters"]["conflicts"], run.entries)
    assert conflicts == {(("business_unit", "BU1"),): 1}


def test_the_lag_distribution_records_each_stored_order_within_its_buckets(
    run: Run, metrics: dict[str, Any]
) -> None:
    lag = metrics["lag"]
    selected = compile_filter(lag["filter"])
    values = [extract_value(lag["value"], entry) for entry in run.entries if selected(entry)]
    assert len(values) == 2
    assert all(value is not None and 0 <= value < 60 for value in values), values
    bounds = lag["bounds"]
    assert bounds == sorted(bounds)
    assert 60 in bounds
    # What the freshness SLO's distribution cut counts good: values below the bound.
    assert sum(1 for value in values if value is not None and value < 60) == 2
    labels = {
        extract(spec["extractor"], entry)
        for key, spec in lag["labels"].items()
        for entry in run.entries
        if selected(entry)
    }
    assert labels == {"BU1", ""}


def test_the_availability_counts_every_put_cloud_run_answered_and_bad_each_429_or_5xx(
    run: Run, metrics: dict[str, Any]
) -> None:
    entries = run.entries + run.request_log
    answers = series(metrics["counters"]["put_answers"], entries)
    sent = Counter(status for _, _, status in run.puts) + Counter([429, 500, 503, 504])
    assert Counter({int(dict(labels)["status"]): n for labels, n in answers.items()}) == sent
    failed = total(series(metrics["counters"]["put_answers_failed"], entries))
    # The run's deliberate 503 (the topic missing), and Cloud Run's own 429 (no instance
    # free), 500 (a crash), 503 and 504 (a timeout): the OMS delivered none of them. The
    # deliberate 503's own line (outcome "unavailable") is not counted again.
    assert failed == 5
    assert sent[503] == 2


def test_no_metric_counts_a_line_of_another_logger_or_service(
    run: Run, metrics: dict[str, Any]
) -> None:
    # StructuredLogHandler's own instrumentation line, and the functions' other lines.
    foreign = [
        entry
        for entry in run.entries
        if entry.get("labels", {}).get("python_logger", "").startswith("google.")
    ]
    assert foreign, "the handler's instrumentation line was expected in the output"
    moved = [
        {**entry, "resource": {**entry["resource"], "labels": {"service_name": "other"}}}
        for entry in run.entries
    ]
    for metric in [*metrics["counters"].values(), metrics["lag"]]:
        selected = compile_filter(metric["filter"])
        assert not any(selected(entry) for entry in foreign), metric["name"]
        assert not any(selected(entry) for entry in moved), metric["name"]
