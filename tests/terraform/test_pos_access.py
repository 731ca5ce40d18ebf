"""Which stores each POS identity holds, in Terraform: the audiences, the grants, the operators,
and the refusals' metric and alert (terraform/pos_access.tf)."""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.config import DEFAULT_GRANTS_CACHE_SECONDS, MAX_GRANTS_CACHE_SECONDS, AccessSettings
from shared.domain import grants
from tests.logging_query import cloud_run_entry, compile_filter, extract
from tests.terraform.observability import evaluate
from tests.terraform.tfconfig import TERRAFORM_DIR, TerraformConfig, only, ref, terraform_console

REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}
POS_SERVICE = "customer-orders-pos"


def _variables(**values: str) -> Any:
    return terraform_console(
        [TERRAFORM_DIR / "variables.tf"], "true", {**REQUIRED_VARIABLES, **values}
    )


def test_the_pos_function_is_told_its_audiences_and_the_grants_bound(tf: TerraformConfig) -> None:
    pos = tf.resource("google_cloudfunctions2_function.pos")
    env = only(pos["service_config"])["environment_variables"]
    assert env["POS_AUDIENCES"] == ref('join(",", local.pos_audiences)')
    assert env["POS_GRANTS_CACHE_SECONDS"] == ref("tostring(var.pos_grants_cache_seconds)")
    # Never the emulators' local signer.
    assert not [name for name in env if name.startswith("POS_LOCAL_")]
    assert tf.default("pos_grants_cache_seconds") == DEFAULT_GRANTS_CACHE_SECONDS
    # What Terraform writes, the code reads.
    settings = AccessSettings.from_env({"POS_AUDIENCES": "https://a.run.app,https://b.net/f"})
    assert settings.audiences == ("https://a.run.app", "https://b.net/f")


def test_the_audiences_are_the_functions_own_urls_known_before_it_exists(
    tf: TerraformConfig,
) -> None:
    """The function cannot name its own uri (a cycle): both URLs are built from the project."""
    audiences = tf.locals["pos_audiences"]
    assert "google_cloudfunctions2_function" not in audiences
    assert (
        "https://${local.pos_function_name}-${data.google_project.this.number}.${var.region}.run.app"
        in audiences
    )
    assert (
        "https://${var.region}-${var.project_id}.cloudfunctions.net/${local.pos_function_name}"
        in audiences
    )
    assert audiences.startswith("${length(var.pos_audiences) > 0 ? var.pos_audiences : [")
    assert tf.data["google_project"]["this"]["project_id"] == ref("var.project_id")


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("pos_grants_cache_seconds", "30", True),
        ("pos_grants_cache_seconds", str(int(MAX_GRANTS_CACHE_SECONDS)), True),
        ("pos_grants_cache_seconds", "61", False),
        ("pos_grants_cache_seconds", "0", False),
        ("pos_audiences", '["https://pos.example.com"]', True),
        ("pos_audiences", '["http://pos.example.com"]', False),
        ("pos_audiences", '["https://a.example.com,https://b.example.com"]', False),
        ("stores_operators", '["group:pos-admins@example.com"]', True),
        ("stores_operators", '["allUsers"]', False),
        ("pos_refusals_alert_threshold", "0", False),
    ],
)
def test_the_access_variables_are_validated(name: str, value: str, accepted: bool) -> None:
    result = _variables(**{name: value})
    assert result.failed is not accepted, result.output


def test_the_operators_use_the_orders_database_alone(tf: TerraformConfig) -> None:
    operators = tf.resource("google_project_iam_member.stores_operators")
    assert operators["for_each"] == ref("toset(var.stores_operators)")
    assert operators["role"] == "roles/datastore.user"
    assert only(operators["condition"])["expression"] == (
        'resource.name == "projects/${var.project_id}/databases/${local.firestore_database}"'
    )


def test_no_field_of_the_grants_is_indexed_but_who_changed_what(tf: TerraformConfig) -> None:
    fields = evaluate_locals("local.grant_unindexed_fields", tf)
    assert {(f["collection"], f["field"]) for f in fields.values()} == {
        (grants.GRANTS_COLLECTION, grants.BUSINESS_UNITS_FIELD),
        (grants.GRANTS_COLLECTION, grants.ALL_BUSINESS_UNITS_FIELD),
        (grants.GRANTS_COLLECTION, grants.UPDATED_AT_FIELD),
        (grants.GRANTS_COLLECTION, grants.UPDATED_BY_FIELD),
        (grants.GRANT_CHANGES_COLLECTION, "before"),
        (grants.GRANT_CHANGES_COLLECTION, "after"),
        (grants.GRANT_CHANGES_COLLECTION, "command"),
    }
    assert set(grants.CHANGE_FIELDS) - {"before", "after", "command"} == {
        "identity",
        "operator",
        "changedAt",
    }
    resource = tf.resource("google_firestore_field.grants_unindexed")
    assert resource["index_config"] == [{}]


def evaluate_locals(expression: str, tf: TerraformConfig) -> Any:
    """A local of pos_access.tf that needs no provider, evaluated with terraform console."""
    source = (TERRAFORM_DIR / "pos_access.tf").read_text()
    block = re.search(r"(  grant_unindexed_fields = \{.*?\n  \})", source, re.DOTALL)
    assert block is not None
    with tempfile.TemporaryDirectory(prefix="tf-access-") as scratch:
        module = Path(scratch) / "locals.tf"
        module.write_text("locals {\n" + block.group(1) + "\n}\n")
        result = terraform_console([module], f"jsonencode({expression})")
    assert not result.failed, result.output
    return json.loads(json.loads(result.output))


# --- Refusals counted per identity, and the alert on a burst ------------------------------


def _line(**fields: object) -> str:
    return json.dumps(
        {
            "message": "...",
            "severity": "INFO",
            "logging.googleapis.com/labels": {"python_logger": "customer_order_events.pos"},
            **fields,
        }
    )


ENTRIES = [
    cloud_run_entry(_line(event="get", outcome="refused", problemType="forbidden", httpStatus=403, identity="a@x.com"), POS_SERVICE),
    cloud_run_entry(_line(event="search", outcome="refused", problemType="forbidden", httpStatus=403, identity="a@x.com"), POS_SERVICE),
    cloud_run_entry(_line(event="get", outcome="refused", problemType="unauthenticated", httpStatus=401, identity="unverified"), POS_SERVICE),
    # Not refusals of the caller: a 404 of a held unit, a 503, an answer.
    cloud_run_entry(_line(event="get", outcome="refused", problemType="not-found", httpStatus=404, identity="a@x.com"), POS_SERVICE),
    cloud_run_entry(_line(event="get", outcome="unavailable", problemType="store-unavailable", httpStatus=503, identity="unverified"), POS_SERVICE),
    cloud_run_entry(_line(event="search", outcome="answered", httpStatus=200), POS_SERVICE),
    # Another service's lines.
    cloud_run_entry(_line(event="get", outcome="refused", httpStatus=403, identity="b@x.com"), "customer-orders-ingest"),
]  # fmt: skip


def test_refusals_are_counted_by_identity_and_status() -> None:
    metric = evaluate("local.counter_metrics.pos_refusals")
    assert metric["name"] == "customer-orders-pos-refusals"
    selected = compile_filter(metric["filter"])
    counted: Counter[tuple[str, str]] = Counter(
        (extract(metric["labels"]["identity"]["extractor"], entry), extract(metric["labels"]["status"]["extractor"], entry))
        for entry in ENTRIES
        if selected(entry)
    )  # fmt: skip
    assert counted == {("a@x.com", "403"): 2, ("unverified", "401"): 1}


def test_a_burst_of_refusals_by_one_identity_pages_with_its_runbook(tf: TerraformConfig) -> None:
    alert = tf.resource("google_monitoring_alert_policy.pos_refusals")
    condition = only(only(alert["conditions"])["condition_threshold"])
    assert condition["filter"] == (
        'metric.type = "${local.metric_types.pos_refusals}" AND resource.type = "cloud_run_revision"'
    )
    assert condition["threshold_value"] == ref("var.pos_refusals_alert_threshold")
    aggregation = only(condition["aggregations"])
    assert aggregation["group_by_fields"] == ["metric.label.identity"]
    assert (aggregation["per_series_aligner"], aggregation["cross_series_reducer"]) == (
        "ALIGN_DELTA",
        "REDUCE_SUM",
    )
    documentation = only(alert["documentation"])
    assert documentation["content"] == ref(
        'templatefile("${path.module}/runbooks/pos_refusals.md", local.pos_refusals_runbook_vars)'
    )
    runbook = evaluate(
        'templatefile("runbooks/pos_refusals.md", merge(local.runbook_vars, '
        "{pos_service = local.pos_function_name, refusals_threshold = 20, "
        "refusals_metric = local.metric_types.pos_refusals}))"
    )
    assert runbook.startswith("**What it means.**")
    assert "${" not in runbook
    assert "customer-orders-pos" in runbook
    operations = (TERRAFORM_DIR.parent / "docs" / "operations.md").read_text()
    assert "one-pos-identity-refused-again-and-again" in runbook
    assert "### One POS identity refused again and again" in operations
    for command in ("orders-stores list", "orders-stores revoke"):
        assert command in runbook
        assert command in operations
