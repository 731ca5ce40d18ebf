"""The log-based metrics, SLOs, alerts and dashboard of terraform/, read and evaluated offline.

Filters are evaluated by ``terraform console`` (tests/terraform/observability.py); that
they match what the functions really log is tests/integration/test_log_metrics.py, and
that each outage fires its alerts is tests/integration/test_outage_alerts.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.logging_query import compile_filter, request_log_entry
from tests.terraform.observability import (
    SLO_NAMES,
    documented_form,
    evaluate,
    operations_document,
    rendered_dashboard,
    runbook_commands,
)
from tests.terraform.tfconfig import (
    TERRAFORM_DIR,
    TerraformConfig,
    only,
    ref,
    terraform_console,
)

USER_METRIC = "logging.googleapis.com/user/"
CLOUD_RUN = "cloud_run_revision"
RESOURCE_LABELS = {
    CLOUD_RUN: {"project_id", "service_name", "revision_name", "configuration_name", "location"},
    "pubsub_subscription": {"project_id", "subscription_id"},
    "pubsub_topic": {"project_id", "topic_id"},
}
# Google's built-in metrics the dashboard and alerts use, named and labelled as in
# https://cloud.google.com/monitoring/api/metrics_gcp (sections "run" and "pubsub") and
# https://cloud.google.com/pubsub/docs/monitoring: metric type => (resource type, labels).
BUILTIN_METRICS = {
    "run.googleapis.com/request_count": (CLOUD_RUN, {"response_code", "response_code_class", "route_type"}),
    "run.googleapis.com/request_latencies": (CLOUD_RUN, {"response_code", "response_code_class", "route_type"}),
    "run.googleapis.com/container/instance_count": (CLOUD_RUN, {"state"}),
    "run.googleapis.com/container/cpu/utilizations": (CLOUD_RUN, set()),
    "pubsub.googleapis.com/subscription/num_undelivered_messages": ("pubsub_subscription", set()),
    "pubsub.googleapis.com/subscription/oldest_unacked_message_age": ("pubsub_subscription", set()),
    "pubsub.googleapis.com/subscription/dead_letter_message_count": ("pubsub_subscription", set()),
    "pubsub.googleapis.com/subscription/push_request_count": ("pubsub_subscription", {"response_class", "response_code", "delivery_type"}),
    "pubsub.googleapis.com/topic/send_request_count": ("pubsub_topic", {"response_class", "response_code"}),
}  # fmt: skip
DEFAULT_SLO_NAMES = set(SLO_NAMES.values())


@pytest.fixture(scope="module")
def observed() -> dict[str, Any]:
    """The module's observability locals with every variable at its default."""
    value: dict[str, Any] = evaluate(
        "{counters = local.counter_metrics, lag = local.lag_metric, slo = local.slo_filters,"
        " alerts = local.burn_rate_alerts, types = local.metric_types,"
        " runbook_vars = local.runbook_vars, outages = local.outage_alerts,"
        " request_slos = local.request_slos, stored_orders = local.stored_orders}"
    )
    return value


def known_metrics(observed: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """Every metric a filter may name: the log-based ones of this module and the built-ins."""
    user = {
        USER_METRIC + metric["name"]: (CLOUD_RUN, set(metric["labels"]))
        for metric in [*observed["counters"].values(), observed["lag"]]
    }
    return {**BUILTIN_METRICS, **user}


_TERM = re.compile(r'(?P<path>[a-z_]+(?:\.[a-z_]+)+)\s*(?:=|!=)\s*"(?P<value>[^"]*)"')
_SELECTOR = re.compile(r'^select_slo_\w+\("(?P<slo>[^"]+)"(?:, "\d+s")?\)$')


def check_filter(text: str, metrics: dict[str, tuple[str, set[str]]]) -> str:
    """The metric type ``text`` selects, checked to exist with its resource and labels."""
    if (selector := _SELECTOR.fullmatch(text)) is not None:
        assert selector["slo"] in DEFAULT_SLO_NAMES, text
        return "slo"
    terms: dict[str, list[str]] = {}
    for match in _TERM.finditer(text):
        terms.setdefault(match["path"], []).append(match["value"])
    [metric_type] = terms.pop("metric.type")
    assert metric_type in metrics, f"{metric_type} is no metric of this module or of Google's"
    resource, labels = metrics[metric_type]
    assert terms.pop("resource.type") == [resource], text
    for path in terms:
        kind, _, label = path.rpartition(".")
        if kind in ("metric.labels", "metric.label"):
            assert label in labels, f"{metric_type} has no label {label}"
        else:
            assert kind in ("resource.labels", "resource.label"), path
            assert label in RESOURCE_LABELS[resource], f"{resource} has no label {label}"
    return metric_type


# --- Log-based metrics -----------------------------------------------------------------------


def test_each_log_based_metric_is_created_from_the_evaluated_locals(tf: TerraformConfig) -> None:
    counter = tf.resource("google_logging_metric.counter")
    assert counter["for_each"] == ref("local.counter_metrics")
    assert (counter["name"], counter["filter"]) == (
        ref("each.value.name"),
        ref("each.value.filter"),
    )
    descriptor = only(counter["metric_descriptor"])
    assert (descriptor["metric_kind"], descriptor["value_type"]) == ("DELTA", "INT64")
    assert only(descriptor["dynamic"])["labels"]["for_each"] == ref("each.value.labels")
    lag = tf.resource("google_logging_metric.end_to_end_lag")
    assert (lag["name"], lag["filter"]) == (
        ref("local.lag_metric.name"),
        ref("local.lag_metric.filter"),
    )
    assert lag["value_extractor"] == ref("local.lag_metric.value")
    descriptor = only(lag["metric_descriptor"])
    assert (descriptor["metric_kind"], descriptor["value_type"], descriptor["unit"]) == (
        "DELTA",
        "DISTRIBUTION",
        "s",
    )
    buckets = only(only(lag["bucket_options"])["explicit_buckets"])
    assert buckets["bounds"] == ref("local.lag_metric.bounds")


def test_every_decision_is_counted_from_its_own_field(observed: dict[str, Any]) -> None:
    counters = observed["counters"]
    assert set(counters) == {
        "put_outcomes",
        "processor_decisions",
        "put_answers",
        "put_answers_failed",
        "read_answers",
        "read_answers_failed",
        "pickup_answers",
        "pickup_answers_failed",
        "events_published",
        "pickups",
        "pos_refusals",
        "conflicts",
    }
    extractors = {
        key: {name: label["extractor"] for name, label in metric["labels"].items()}
        for key, metric in counters.items()
    }
    assert extractors == {
        "put_outcomes": {"outcome": "EXTRACT(jsonPayload.outcome)", "problem_type": "EXTRACT(jsonPayload.problemType)"},
        "processor_decisions": {"decision": "EXTRACT(jsonPayload.decision)", "rule": "EXTRACT(jsonPayload.rule)", "change": "EXTRACT(jsonPayload.change)"},
        "put_answers": {"status": "EXTRACT(httpRequest.status)"},
        "put_answers_failed": {},
        "read_answers": {"status": "EXTRACT(httpRequest.status)"},
        "read_answers_failed": {},
        "pickup_answers": {"status": "EXTRACT(httpRequest.status)"},
        "pickup_answers_failed": {},
        "events_published": {"event_type": "EXTRACT(jsonPayload.eventType)"},
        "pickups": {"event": "EXTRACT(jsonPayload.event)", "outcome": "EXTRACT(jsonPayload.outcome)", "problem_type": "EXTRACT(jsonPayload.problemType)"},
        "pos_refusals": {"identity": "EXTRACT(jsonPayload.identity)", "status": "EXTRACT(jsonPayload.httpStatus)"},
        "conflicts": {},
    }  # fmt: skip
    assert observed["lag"]["value"] == "EXTRACT(jsonPayload.lagSeconds)"
    for metric in [*counters.values(), observed["lag"]]:
        # Decisions are fields; free text (textPayload, jsonPayload.message) is never read.
        assert "message" not in metric["filter"]
        assert "textPayload" not in metric["filter"]
        assert len(metric["name"]) <= 100


def test_the_business_unit_label_is_absent_by_default(observed: dict[str, Any]) -> None:
    for metric in [*observed["counters"].values(), observed["lag"]]:
        assert "business_unit" not in metric["labels"]


def test_listed_business_units_get_a_label_and_every_other_the_empty_value() -> None:
    labelled = evaluate(
        "local.counter_metrics.put_outcomes.labels",
        {"business_unit_label_values": '["BU1", "retail-2"]'},
    )
    assert labelled["business_unit"]["extractor"] == (
        'REGEXP_EXTRACT(jsonPayload.businessUnitId, "^(BU1|retail-2)$")'
    )


@pytest.mark.parametrize(
    ("units", "accepted"),
    [
        ('["BU1", "retail_2", "x-y"]', True),
        ('["BU.1"]', False),
        ('["a|b"]', False),
        ('["BU 1"]', False),
        ("[" + ", ".join(f'"BU{n}"' for n in range(21)) + "]", False),
    ],
)
def test_the_labelled_business_units_are_few_and_need_no_escaping(
    units: str, accepted: bool
) -> None:
    result = terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        "true",
        {
            "project_id": "demo-project",
            "region": "europe-west1",
            "business_unit_label_values": units,
        },
    )
    assert result.failed is not accepted, result.output


@pytest.mark.parametrize("bound", ["1", "45", "60", "90", "3600"])
def test_the_freshness_bound_is_always_a_bucket_boundary(bound: str) -> None:
    bounds = evaluate("local.lag_metric.bounds", {"freshness_threshold_seconds": bound})
    assert float(bound) in bounds
    assert bounds == sorted(set(bounds))


# --- SLOs and their alerts -------------------------------------------------------------------


def test_each_request_slo_counts_cloud_run_answers_and_freshness_cuts_the_lag(
    tf: TerraformConfig, observed: dict[str, Any]
) -> None:
    types, slo = observed["types"], observed["slo"]
    metrics = known_metrics(observed)
    counted = {"availability": "put", "reads": "read", "pickups": "pickup"}
    assert set(observed["request_slos"]) == set(counted)
    for name, operation in counted.items():
        assert check_filter(slo[f"{name}_total"], metrics) == types[f"{operation}_answers"]
        assert check_filter(slo[f"{name}_bad"], metrics) == types[f"{operation}_answers_failed"]
    assert check_filter(slo["freshness"], metrics) == types["end_to_end_lag"]
    # The PUTs' SLO keeps its id, and so its history, across the move to for_each.
    assert observed["request_slos"]["availability"]["slo_id"] == "put-availability"

    request = tf.resource("google_monitoring_slo.request")
    assert request["for_each"] == ref("local.request_slos")
    assert request["slo_id"] == ref("each.value.slo_id")
    assert request["goal"] == ref("local.slo_goals[each.key]")
    assert request["rolling_period_days"] == ref("local.slo_rolling_period_days")
    ratio = only(only(request["request_based_sli"])["good_total_ratio"])
    assert ratio == {
        "bad_service_filter": ref('local.slo_filters["${each.key}_bad"]'),
        "total_service_filter": ref('local.slo_filters["${each.key}_total"]'),
    }
    freshness = tf.resource("google_monitoring_slo.freshness")
    assert freshness["goal"] == ref("var.freshness_slo_goal")
    cut = only(only(freshness["request_based_sli"])["distribution_cut"])
    assert cut["distribution_filter"] == ref("local.slo_filters.freshness")
    assert only(cut["range"]) == {"max": ref("var.freshness_threshold_seconds")}
    defaults = {
        name: tf.default(f"{name}_slo_goal")
        for name in ("availability", "freshness", "reads", "pickups")
    }
    assert defaults == {"availability": 0.999, "freshness": 0.99, "reads": 0.99, "pickups": 0.99}
    assert evaluate("local.slo_goals") == defaults
    assert tf.default("freshness_threshold_seconds") == 60
    assert evaluate("local.slo_rolling_period_days") == 30


INGEST, POS = "customer-orders-ingest", "customer-orders-pos"
ORDER = "/business-units/BU1/customer-orders/CO-1"
# (service, method, path) of a request => the operation whose SLO counts it, or None.
OPERATIONS = [
    ((INGEST, "PUT", ORDER), "put"),
    ((INGEST, "GET", ORDER), "read"),
    ((INGEST, "HEAD", ORDER), "read"),
    ((POS, "GET", ORDER), "read"),
    ((INGEST, "POST", "/business-units/BU1/customer-orders:search"), "read"),
    ((POS, "POST", "/business-units/BU1/customer-orders:search?x=1"), "read"),
    ((POS, "POST", f"{ORDER}:pickup"), "pickup"),
    ((POS, "POST", f"{ORDER}:pickup?x=1"), "pickup"),
    # A colon inside an id arrives as %3A: an order "CO-1:pickup", not a pickup.
    ((POS, "POST", f"{ORDER}%3Apickup"), None),
    ((POS, "GET", f"{ORDER}:pickupx"), "read"),
    ((INGEST, "POST", f"{ORDER}:pickup"), None),
    ((POS, "PUT", ORDER), None),
    (("customer-orders-processor", "POST", "/"), None),
]


@pytest.mark.parametrize(("request_line", "operation"), OPERATIONS)
@pytest.mark.parametrize("status", [200, 404, 409, 429, 500, 503, 504])
def test_each_answer_counts_in_its_operation_and_429_and_5xx_count_bad(
    request_line: tuple[str, str, str], operation: str | None, status: int, observed: dict[str, Any]
) -> None:
    service, method, path = request_line
    entry = request_log_entry(service, method, status, f"https://{service}-x.a.run.app{path}")
    counters = observed["counters"]
    counted = {
        key.removesuffix("_answers")
        for key in ("put_answers", "read_answers", "pickup_answers")
        if compile_filter(counters[key]["filter"])(entry)
    }
    assert counted == ({operation} if operation else set())
    failed = {
        key.removesuffix("_answers_failed")
        for key in ("put_answers_failed", "read_answers_failed", "pickup_answers_failed")
        if compile_filter(counters[key]["filter"])(entry)
    }
    assert failed == (counted if status == 429 or status >= 500 else set())


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("availability_slo_goal", "0.999", True),
        ("availability_slo_goal", "0.9995", False),
        ("availability_slo_goal", "0", False),
        ("freshness_slo_goal", "0.95", True),
        ("freshness_slo_goal", "1", False),
        ("freshness_threshold_seconds", "0", False),
        ("freshness_threshold_seconds", "3601", False),
        ("reads_slo_goal", "0.95", True),
        ("reads_slo_goal", "0.9999", False),
        ("pickups_slo_goal", "0.999", True),
        ("pickups_slo_goal", "0", False),
    ],
)
def test_slo_variables_are_validated(name: str, value: str, accepted: bool) -> None:
    result = terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        "true",
        {"project_id": "demo-project", "region": "europe-west1", name: value},
    )
    assert result.failed is not accepted, result.output


def test_each_slo_has_a_fast_and_a_slow_multiwindow_burn_rate_alert(
    tf: TerraformConfig, observed: dict[str, Any]
) -> None:
    alerts = observed["alerts"]
    assert {(a["slo"], a["speed"], a["burn_rate"], a["long_window"], a["short_window"]) for a in alerts.values()} == {
        ("availability", "fast", 14.4, "3600s", "300s"),
        ("availability", "slow", 6, "21600s", "1800s"),
        ("freshness", "fast", 14.4, "3600s", "300s"),
        ("freshness", "slow", 6, "21600s", "1800s"),
        ("reads", "fast", 14.4, "3600s", "300s"),
        ("reads", "slow", 6, "21600s", "1800s"),
        ("pickups", "fast", 14.4, "3600s", "300s"),
        ("pickups", "slow", 6, "21600s", "1800s"),
    }  # fmt: skip
    policy = tf.resource("google_monitoring_alert_policy.burn_rate")
    assert policy["for_each"] == ref("local.burn_rate_alerts")
    assert policy["combiner"] == "AND"
    assert policy["notification_channels"] == ref("var.notification_channels")
    long, short = (only(condition["condition_threshold"]) for condition in policy["conditions"])
    for condition, window in ((long, "long_window"), (short, "short_window")):
        assert condition["filter"] == (
            f'select_slo_burn_rate("${{local.slo_names[each.value.slo]}}", "${{each.value.{window}}}")'
        )
        assert condition["comparison"] == "COMPARISON_GT"
        assert condition["threshold_value"] == ref("each.value.burn_rate")
    assert tf.locals["slo_names"] == ref(
        "merge({for name, slo in google_monitoring_slo.request : name => slo.name},"
        " {freshness = google_monitoring_slo.freshness.name})"
    )


def test_an_outage_that_stores_nothing_pages_whatever_the_traffic(
    tf: TerraformConfig, observed: dict[str, Any]
) -> None:
    types = observed["types"]
    metrics = known_metrics(observed)
    outages = observed["outages"]
    assert (
        check_filter(outages["intake_outage"]["failures"], metrics) == types["put_answers_failed"]
    )
    assert (
        check_filter(outages["processor_outage"]["failures"], metrics)
        == types["processor_decisions"]
    )
    assert outages["processor_outage"]["failures"].endswith('metric.labels.decision="unavailable"')
    assert check_filter(observed["stored_orders"], metrics) == types["processor_decisions"]
    assert observed["stored_orders"].endswith('metric.labels.decision="stored"')

    policy = tf.resource("google_monitoring_alert_policy.outage")
    assert policy["for_each"] == ref("local.outage_alerts")
    assert (policy["combiner"], policy["severity"]) == ("AND", "CRITICAL")
    assert policy["notification_channels"] == ref("var.notification_channels")
    failing, absent = policy["conditions"]
    threshold = only(failing["condition_threshold"])
    assert threshold["filter"] == ref("each.value.failures")
    assert (threshold["comparison"], threshold["threshold_value"]) == ("COMPARISON_GT", 0)
    assert threshold["duration"] == "${local.outage_window_seconds}s"
    stored = only(absent["condition_absent"])
    assert stored["filter"] == ref("local.stored_orders")
    assert stored["duration"] == "${local.outage_window_seconds}s"
    for condition in (threshold, stored):
        aggregation = only(condition["aggregations"])
        assert aggregation == {
            "alignment_period": "${local.outage_alignment_seconds}s",
            "per_series_aligner": "ALIGN_SUM",
            "cross_series_reducer": "REDUCE_SUM",
        }
    assert evaluate("[local.outage_window_seconds, local.outage_alignment_seconds]") == [600, 300]


# --- Runbooks --------------------------------------------------------------------------------

ALERT_RUNBOOKS = {
    "google_monitoring_alert_policy.dead_letters": "dead_letters",
    "google_monitoring_alert_policy.processor_backlog_age": "processor_backlog_age",
    "google_monitoring_alert_policy.store_updates_backlog_age": "store_updates_backlog_age",
}


def rendered_runbooks() -> dict[str, str]:
    rendered: dict[str, str] = evaluate(
        "merge("
        '{for key, alert in local.burn_rate_alerts : key => templatefile("runbooks/${alert.slo}.md", merge(local.runbook_vars, alert))},'
        '{for name in ["dead_letters", "processor_backlog_age", "store_updates_backlog_age"] : name => templatefile("runbooks/${name}.md", local.runbook_vars)},'
        '{for name, alert in local.outage_alerts : name => templatefile("runbooks/${name}.md", local.runbook_vars)})'
    )
    return rendered


def test_every_alert_documents_its_meaning_and_first_three_commands(tf: TerraformConfig) -> None:
    for address, runbook in ALERT_RUNBOOKS.items():
        documentation = only(tf.resource(address)["documentation"])
        assert documentation["content"] == ref(
            f'templatefile("${{path.module}}/runbooks/{runbook}.md", local.runbook_vars)'
        )
        assert documentation["mime_type"] == "text/markdown"
    burn_rate = only(tf.resource("google_monitoring_alert_policy.burn_rate")["documentation"])
    assert burn_rate["content"] == ref(
        'templatefile("${path.module}/runbooks/${each.value.slo}.md", merge(local.runbook_vars, each.value))'
    )
    outage = only(tf.resource("google_monitoring_alert_policy.outage")["documentation"])
    assert outage["content"] == ref(
        'templatefile("${path.module}/runbooks/${each.key}.md", local.runbook_vars)'
    )
    for address in (
        *ALERT_RUNBOOKS,
        "google_monitoring_alert_policy.burn_rate",
        "google_monitoring_alert_policy.outage",
    ):
        links = only(only(tf.resource(address)["documentation"])["dynamic"])["links"]
        assert links["for_each"] == ref("var.runbook_url == null ? [] : [var.runbook_url]")
    document = operations_document()
    for name, runbook in rendered_runbooks().items():
        assert runbook.startswith("**What it means.**"), name
        listed = runbook_commands(runbook)
        assert len(listed) == 3, name
        for command in listed:
            assert documented_form(command) in document, (
                f"{name}: docs/operations.md lacks {documented_form(command)}"
            )
        assert "${" not in runbook, name


def test_the_operations_document_names_every_alert_metric_and_slo(
    tf: TerraformConfig, observed: dict[str, Any]
) -> None:
    document = operations_document()
    for address in ALERT_RUNBOOKS:
        assert (
            tf.resource(address)["display_name"].removeprefix("customer-order-events: ") in document
        )
    for alert in observed["alerts"].values():
        assert f"{alert['slo']} SLO, {alert['speed']} burn" in document
    for alert in observed["outages"].values():
        assert alert["title"] in document, alert["title"]
    for metric in [*observed["counters"].values(), observed["lag"]]:
        assert f"`{metric['name']}`" in document, metric["name"]


# --- Dashboard -------------------------------------------------------------------------------


def test_the_dashboard_file_is_json_and_the_resource_renders_it(tf: TerraformConfig) -> None:
    json.loads((TERRAFORM_DIR / "dashboards" / "operations.json").read_text())
    dashboard = tf.resource("google_monitoring_dashboard.operations")
    expression = dashboard["dashboard_json"]
    assert (
        'templatefile("${path.module}/dashboards/operations.json", merge(local.dashboard_vars'
        in expression
    )
    assert set(re.findall(r"(\w+_slo)\s*=", expression)) == set(SLO_NAMES)


def dashboard_filters(dashboard: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(tile title, filter, aggregation) of every query on the dashboard."""
    found = []
    for tile in dashboard["mosaicLayout"]["tiles"]:
        widget = tile["widget"]
        queries = [
            data["timeSeriesQuery"] for data in widget.get("xyChart", {}).get("dataSets", [])
        ]
        if "scorecard" in widget:
            queries.append(widget["scorecard"]["timeSeriesQuery"])
        for query in queries:
            series = query["timeSeriesFilter"]
            found.append((widget["title"], series["filter"], series.get("aggregation", {})))
    return found


def test_every_chart_names_a_metric_that_exists_with_its_labels(observed: dict[str, Any]) -> None:
    dashboard = rendered_dashboard()
    metrics = known_metrics(observed)
    shown = set()
    for title, text, aggregation in dashboard_filters(dashboard):
        metric_type = check_filter(text, metrics)
        shown.add(metric_type)
        if metric_type == "slo":
            continue
        resource, labels = metrics[metric_type]
        for group in aggregation.get("groupByFields", []):
            kind, _, label = group.rpartition(".")
            known = labels if kind.startswith("metric.") else RESOURCE_LABELS[resource]
            assert label in known, f"{title}: {metric_type} has no label {label}"
    # What the issue asks the dashboard to hold, each at least once.
    types = observed["types"]
    on_dashboard = (
        "put_outcomes",
        "put_answers",
        "processor_decisions",
        "end_to_end_lag",
        "events_published",
        "pickups",
        "conflicts",
    )
    assert shown == {"slo", *BUILTIN_METRICS, *(types[key] for key in on_dashboard)}


def test_the_instance_and_cpu_charts_show_every_function() -> None:
    functions = {"customer-orders-ingest", "customer-orders-processor", "customer-orders-pos"}
    filters = [text for _, text, _ in dashboard_filters(rendered_dashboard())]
    for metric in ("instance_count", "cpu/utilizations"):
        shown = [text for text in filters if f'"run.googleapis.com/container/{metric}"' in text]
        services = {name for text in shown for name in re.findall(r'service_name="([^"]+)"', text)}
        assert services == functions, metric


def test_the_dashboard_tiles_fit_the_grid_without_overlapping() -> None:
    layout = rendered_dashboard()["mosaicLayout"]
    columns = layout["columns"]
    taken: set[tuple[int, int]] = set()
    for tile in layout["tiles"]:
        assert tile["widget"]["title"]
        assert tile["xPos"] >= 0
        assert tile["xPos"] + tile["width"] <= columns
        cells = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile["yPos"], tile["yPos"] + tile["height"])
        }
        assert not cells & taken, tile["widget"]["title"]
        taken |= cells


def test_the_existing_alerts_name_metrics_that_exist(
    tf: TerraformConfig, observed: dict[str, Any]
) -> None:
    metrics = known_metrics(observed)
    for address in ALERT_RUNBOOKS:
        condition = only(only(tf.resource(address)["conditions"])["condition_threshold"])
        text = re.sub(r"\$\{[^}]+\}", "x", condition["filter"])
        assert check_filter(text, metrics).startswith("pubsub.googleapis.com/")


def test_the_backlog_and_dead_letter_charts_show_both_of_the_processor_s_subscriptions() -> None:
    filters = [text for _, text, _ in dashboard_filters(rendered_dashboard())]
    for metric in (
        "num_undelivered_messages",
        "oldest_unacked_message_age",
        "dead_letter_message_count",
    ):
        shown = [
            text for text in filters if f'"pubsub.googleapis.com/subscription/{metric}"' in text
        ]
        subscriptions = {
            name for text in shown for name in re.findall(r'subscription_id="([^"]+)"', text)
        }
        assert {
            "customer-orders-processor",
            "customer-order-store-updates-processor",
        } <= subscriptions, metric
