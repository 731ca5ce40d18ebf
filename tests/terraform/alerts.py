"""terraform/'s alert policies and log-based metrics, as tests/monitoring_query.py judges them.

Everything is read from what Terraform itself evaluates: the locals of observability.tf
through ``terraform console`` (tests/terraform/observability.py), and the policies' own
blocks through python-hcl2, their ``${...}`` expressions evaluated by the console too. So a
change to a filter, a threshold, a window or a combiner is what the evaluation sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tests.monitoring_query import (
    Absent,
    BurnRate,
    Condition,
    DistributionSlo,
    LogMetric,
    Policy,
    RequestSlo,
    Threshold,
)
from tests.terraform.observability import evaluate
from tests.terraform.tfconfig import TerraformConfig, only, scalars

BURN_RATE_FILTER = re.compile(
    r'^select_slo_burn_rate\("\$\{local\.slo_names\[each\.value\.slo\]\}", '
    r'"\$\{each\.value\.(?P<window>\w+)\}"\)$'
)


def log_metrics(observed: Mapping[str, Any]) -> list[LogMetric]:
    """Every log-based metric, from ``{counters = local.counter_metrics, lag = local.lag_metric,
    types = local.metric_types}``."""
    metrics = [
        LogMetric(
            type=observed["types"][key],
            filter=metric["filter"],
            labels={name: label["extractor"] for name, label in metric["labels"].items()},
        )
        for key, metric in observed["counters"].items()
    ]
    lag = observed["lag"]
    metrics.append(
        LogMetric(
            type=observed["types"]["end_to_end_lag"],
            filter=lag["filter"],
            labels={name: label["extractor"] for name, label in lag["labels"].items()},
            value_extractor=lag["value"],
        )
    )
    return metrics


def observed_locals(variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = evaluate(
        "{counters = local.counter_metrics, lag = local.lag_metric, types = local.metric_types,"
        " burn_rate_alerts = local.burn_rate_alerts, outage_alerts = local.outage_alerts,"
        " slo_filters = local.slo_filters, slo_goals = local.slo_goals,"
        " request_slos = local.request_slos, freshness_max = var.freshness_threshold_seconds}",
        variables,
    )
    return value


def _slos(
    tf: TerraformConfig, observed: Mapping[str, Any]
) -> dict[str, RequestSlo | DistributionSlo]:
    request = tf.resource("google_monitoring_slo.request")
    ratio = only(only(request["request_based_sli"])["good_total_ratio"])
    # Which filters each request SLO reads; terraform/slo.tf names them by the SLO's key.
    assert ratio == {
        "bad_service_filter": '${local.slo_filters["${each.key}_bad"]}',
        "total_service_filter": '${local.slo_filters["${each.key}_total"]}',
    }, ratio
    assert request["goal"] == "${local.slo_goals[each.key]}"
    filters, goals = observed["slo_filters"], observed["slo_goals"]
    slos: dict[str, RequestSlo | DistributionSlo] = {
        name: RequestSlo(
            bad=filters[f"{name}_bad"], total=filters[f"{name}_total"], goal=goals[name]
        )
        for name in observed["request_slos"]
    }
    freshness = tf.resource("google_monitoring_slo.freshness")
    cut = only(only(freshness["request_based_sli"])["distribution_cut"])
    assert cut["distribution_filter"] == "${local.slo_filters.freshness}"
    assert only(cut["range"]) == {"max": "${var.freshness_threshold_seconds}"}
    slos["freshness"] = DistributionSlo(
        distribution=filters["freshness"],
        good_max=float(observed["freshness_max"]),
        goal=goals["freshness"],
    )
    return slos


def _burn_rate_policies(tf: TerraformConfig, observed: Mapping[str, Any]) -> dict[str, Policy]:
    resource = tf.resource("google_monitoring_alert_policy.burn_rate")
    assert resource["for_each"] == "${local.burn_rate_alerts}"
    slos = _slos(tf, observed)
    policies = {}
    for key, alert in observed["burn_rate_alerts"].items():
        conditions: list[Condition] = []
        for block in resource["conditions"]:
            threshold = only(block["condition_threshold"])
            window = BURN_RATE_FILTER.fullmatch(threshold["filter"])
            assert window is not None, threshold["filter"]
            assert threshold["threshold_value"] == "${each.value.burn_rate}"
            conditions.append(
                BurnRate(
                    slo=slos[alert["slo"]],
                    window=alert[window["window"]],
                    comparison=threshold["comparison"],
                    threshold=float(alert["burn_rate"]),
                )
            )
        policies[key] = Policy(key, resource["combiner"], conditions)
    return policies


def _resolved(blocks: Any, for_each: str, variables: Mapping[str, str] | None) -> dict[str, Any]:
    """``blocks`` of a resource with ``for_each``, each ``${...}`` evaluated for every key."""
    templates = sorted(
        {value for value in scalars(blocks) if isinstance(value, str) and "${" in value}
    )
    assert not any('"' in template for template in templates), templates
    hcl = ", ".join(
        '"' + template.replace("each.value", "item").replace("each.key", "key") + '"'
        for template in templates
    )
    values = evaluate(f"{{for key, item in {for_each} : key => [{hcl}]}}", variables)
    resolved = {}
    for key, evaluated in values.items():
        replacements = dict(zip(templates, evaluated, strict=True))
        text = json.dumps(blocks)
        resolved[key] = _replace(json.loads(text), replacements)
    return resolved


def _replace(value: Any, replacements: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _replace(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, replacements) for item in value]
    if isinstance(value, str) and value in replacements:
        return replacements[value]
    return value


def _aggregated(condition: Mapping[str, Any]) -> dict[str, str]:
    aggregation = only(condition["aggregations"])
    return {
        "alignment_period": aggregation["alignment_period"],
        "aligner": aggregation["per_series_aligner"],
        "reducer": aggregation["cross_series_reducer"],
    }


def _outage_policies(tf: TerraformConfig, variables: Mapping[str, str] | None) -> dict[str, Policy]:
    resource = tf.resource("google_monitoring_alert_policy.outage")
    assert resource["for_each"] == "${local.outage_alerts}"
    per_key = _resolved(
        {"combiner": resource["combiner"], "conditions": resource["conditions"]},
        "local.outage_alerts",
        variables,
    )
    policies = {}
    for key, policy in per_key.items():
        conditions: list[Condition] = []
        for block in policy["conditions"]:
            if "condition_threshold" in block:
                threshold = only(block["condition_threshold"])
                assert only(threshold["trigger"]) == {"count": 1}
                conditions.append(
                    Threshold(
                        filter=threshold["filter"],
                        comparison=threshold["comparison"],
                        threshold=float(threshold["threshold_value"]),
                        duration=threshold["duration"],
                        **_aggregated(threshold),
                    )
                )
            else:
                absent = only(block["condition_absent"])
                assert only(absent["trigger"]) == {"count": 1}
                conditions.append(
                    Absent(
                        filter=absent["filter"], duration=absent["duration"], **_aggregated(absent)
                    )
                )
        policies[key] = Policy(key, policy["combiner"], conditions)
    return policies


def alert_policies(
    tf: TerraformConfig, variables: Mapping[str, str] | None = None
) -> tuple[dict[str, Policy], list[LogMetric]]:
    """Every alert policy whose conditions read log-based metrics, by name, and those metrics.

    The policies on Pub/Sub's own metrics (dead letters, backlog age) read no log line
    and are left out.
    """
    observed = observed_locals(variables)
    policies = {**_burn_rate_policies(tf, observed), **_outage_policies(tf, variables)}
    return policies, log_metrics(observed)
