"""The pos function in Terraform: its own invokers, disjoint from the OMS's, and the statuses.

Every identity's rights are tests/terraform/test_configuration.py's one table; here, the IAM
split the issue asks for (the OMS's members invoke ingest alone, the POS's pos alone), the
pos identity's grants (it publishes to the store-updates topic alone), the statuses both
deciding functions are told, and the store updates' and conflicts metrics' filters over log
entries as the functions write them.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from shared.config import DEFAULT_CANCELLED_STATUSES, Settings
from shared.domain.conflict import Statuses
from tests.logging_query import Entry, cloud_run_entry, compile_filter, extract
from tests.terraform.observability import evaluate
from tests.terraform.test_configuration import iam_grants
from tests.terraform.tfconfig import TERRAFORM_DIR, TerraformConfig, only, ref, terraform_console

REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}
OMS = "serviceAccount:oms@oms-project.iam.gserviceaccount.com"
POS = "serviceAccount:pos@stores-project.iam.gserviceaccount.com"
INVOKER = "google_cloud_run_v2_service_iam_member"
SERVICES = {
    name: ref(f"google_cloudfunctions2_function.{name}.service_config[0].service")
    for name in ("ingest", "processor", "pos")
}


def _console(**variables: str) -> Any:
    return terraform_console(
        [TERRAFORM_DIR / "variables.tf"], "true", {**REQUIRED_VARIABLES, **variables}
    )


def test_one_member_cannot_be_both_the_oms_and_the_pos() -> None:
    both = _console(
        ingest_invoker_members=json.dumps([OMS, POS]), pos_invoker_members=json.dumps([POS])
    )
    assert both.failed
    assert "may not be in both" in both.text
    apart = _console(
        ingest_invoker_members=json.dumps([OMS]), pos_invoker_members=json.dumps([POS])
    )
    assert not apart.failed, apart.text


def test_public_access_to_the_pos_is_refused() -> None:
    result = _console(pos_invoker_members=json.dumps(["allUsers"]))
    assert result.failed
    assert "allUsers" in result.text


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"cancelled_statuses": "[]"}, "at least one status"),
    ],
)
def test_the_statuses_are_validated(variables: dict[str, str], message: str) -> None:
    result = _console(**variables)
    assert result.failed
    assert message in result.text


def test_the_defaults_are_the_codes(tf: TerraformConfig) -> None:
    assert tuple(tf.default("cancelled_statuses")) == DEFAULT_CANCELLED_STATUSES


def test_the_pos_and_the_processor_are_told_the_statuses(tf: TerraformConfig) -> None:
    for name in ("pos", "processor"):
        function = tf.resource(f"google_cloudfunctions2_function.{name}")
        env = function["service_config"][0]["environment_variables"]
        assert env["CANCELLED_STATUSES"] == ref("local.status_env.CANCELLED_STATUSES"), name
    assert tf.locals["status_env"] == {
        "CANCELLED_STATUSES": ref('join(",", var.cancelled_statuses)'),
    }
    pos = tf.resource("google_cloudfunctions2_function.pos")["service_config"][0]
    env = pos["environment_variables"]
    assert env["STORE_UPDATES_TOPIC"] == ref("google_pubsub_topic.store_updates.name")
    # It publishes to no other topic.
    assert "ORDERS_TOPIC" not in env
    assert "EVENTS_TOPIC" not in env
    assert pos["service_account_email"] == ref("google_service_account.pos.email")
    # The name is the one Settings reads.
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "STORE_UPDATES_TOPIC": "u"})
    assert settings.store_updates_topic_path == "projects/p/topics/u"


# --- The IAM split ----------------------------------------------------------------------------


def test_each_audience_may_invoke_its_own_function_alone(tf: TerraformConfig) -> None:
    invokers: dict[str, set[str]] = {}
    for name, binding in tf.resources_of(INVOKER).items():
        assert binding["role"] == "roles/run.invoker", name
        member = binding["member"]
        if member == ref("each.value"):
            member = binding["for_each"]
        invokers.setdefault(binding["name"], set()).add(member)
    # The OMS's list binds on ingest only, the POS's on pos only, and nothing else binds there.
    assert invokers[SERVICES["ingest"]] == {ref("toset(var.ingest_invoker_members)")}
    assert invokers[SERVICES["pos"]] == {ref("toset(var.pos_invoker_members)")}
    assert invokers[SERVICES["processor"]] == {ref("google_service_account.push_invoker.member")}
    assert set(invokers) == set(SERVICES.values())
    assert tf.default("pos_invoker_members") == []


def test_the_pos_is_reachable_but_authenticated(tf: TerraformConfig) -> None:
    service = only(tf.resource("google_cloudfunctions2_function.pos")["service_config"])
    # The stores call from outside Google Cloud; only IAM decides who gets in.
    assert service["ingress_settings"] == "ALLOW_ALL"
    assert service["max_instance_count"] == ref("var.pos_max_instances")
    assert tf.resource("google_service_account.pos")["account_id"] == (
        "${var.function_name_prefix}-pos"
    )
    assert tf.locals["pos_function_name"] == "${var.function_name_prefix}-pos"
    assert tf.resource("google_cloudfunctions2_function.pos")["name"] == ref(
        "local.pos_function_name"
    )


def test_the_pos_identity_reads_and_writes_the_orders_database_and_publishes_store_updates_only(
    tf: TerraformConfig,
) -> None:
    """It cannot forge the OMS (issue 28, item 5): no grant on the orders topic, where ingest
    alone publishes; the processor refuses an OMS version pushed from the store-updates
    topic (tests/unit/test_store_updates.py)."""
    grants = iam_grants(tf)
    assert grants[ref("google_service_account.pos.member")] == {
        ("google_project_iam_member", "roles/datastore.user", ref("var.project_id")),
        ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.store_updates.name")),
    }  # fmt: skip
    publishers = {
        member: {target for kind, role, target in held if role == "roles/pubsub.publisher"}
        for member, held in grants.items()
    }
    assert {
        m for m, topics in publishers.items() if ref("google_pubsub_topic.orders.name") in topics
    } == {ref("google_service_account.ingest.member")}
    assert {m for m, topics in publishers.items() if ref("google_pubsub_topic.store_updates.name") in topics} == {
        ref("google_service_account.pos.member")
    }  # fmt: skip
    condition = only(tf.resource("google_project_iam_member.pos_firestore_user")["condition"])
    assert condition["expression"] == (
        'resource.name == "projects/${var.project_id}/databases/${local.firestore_database}"'
    )
    # Its grants are awaited before the functions are built and started.
    triggers = tf.resource("time_sleep.iam_propagation")["triggers"]
    assert ref("google_project_iam_member.pos_firestore_user.id") in triggers.values()
    assert ref("google_pubsub_topic_iam_member.pos_publisher.id") in triggers.values()


def test_an_upgrade_keeps_the_pos_function_publishing_throughout(tf: TerraformConfig) -> None:
    """The release before's pos function publishes to the orders topic until the new one
    serves; the new one publishes to the store-updates topic, which must then be subscribed."""
    grant = tf.resource("google_pubsub_topic_iam_member.pos_publisher")
    # Replaced (its topic changes): the new grant first, the old one removed after the
    # resources that depend on it, the pos function among them, were updated.
    assert only(grant["lifecycle"])["create_before_destroy"] is True
    depends_on = tf.resource("google_cloudfunctions2_function.pos")["depends_on"]
    assert ref("google_pubsub_topic_iam_member.pos_publisher") in depends_on
    # A message published to a topic without a subscription is lost.
    assert ref("google_pubsub_subscription.store_updates") in depends_on


def test_the_statuses_reach_the_code_as_terraform_joins_them() -> None:
    joined = terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        'jsonencode(join(",", var.cancelled_statuses))',
        {**REQUIRED_VARIABLES, "cancelled_statuses": '["CANCELLED", "VOIDED"]'},
    )
    assert not joined.failed, joined.output
    cancelled = json.loads(json.loads(joined.output))
    settings = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "CANCELLED_STATUSES": cancelled,
        }
    )
    assert settings.statuses == Statuses(cancelled=frozenset({"CANCELLED", "VOIDED"}))


# --- The pickups and conflicts metrics --------------------------------------------------------

POS_SERVICE = "customer-orders-pos"
PROCESSOR_SERVICE = "customer-orders-processor"
INGEST_SERVICE = "customer-orders-ingest"


def _line(logger: str, **fields: object) -> str:
    """One line as StructuredLogHandler prints it on Cloud Run."""
    return json.dumps(
        {
            "message": "...",
            "severity": "INFO",
            "logging.googleapis.com/labels": {"python_logger": f"customer_order_events.{logger}"},
            **fields,
        }
    )


def _update(
    event: str, outcome: str, status: int, problem: str | None = None, unit: str = "BU1"
) -> Entry:
    fields: dict[str, object] = {"event": event, "outcome": outcome, "httpStatus": status}
    if problem is not None:
        fields["problemType"] = problem
    if unit:
        fields |= {"businessUnitId": unit, "customerOrderId": "CO-1"}
    return cloud_run_entry(_line("pos", **fields), POS_SERVICE)


def _decision(decision: str, rule: str, service: str = PROCESSOR_SERVICE) -> Entry:
    line = _line(
        "processor",
        event="process",
        decision=decision,
        rule=rule,
        change="cancellation",
        businessUnitId="BU1",
        customerOrderId="CO-1",
    )
    return cloud_run_entry(line, service)


ENTRIES = [
    _update("pickup", "recorded", 200),
    _update("pickup", "repeated", 200, unit="BU2"),
    _update("pickup", "refused", 409, "already-picked-up"),
    _update("pickup", "refused", 404, "not-found"),
    # A path whose ids are invalid names no business unit.
    _update("pickup", "refused", 400, "invalid-id", unit=""),
    _update("pickup", "unavailable", 503, "publish-unavailable"),
    _update("pickup", "failed", 500),
    _update("ready", "recorded", 200),
    _update("ready", "repeated", 200),
    _update("ready", "refused", 409, "order-cancelled"),
    _update("ready", "unavailable", 503, "store-unavailable"),
    _decision("conflict", "pickup"),
    _decision("duplicate", "pickup"),
    _decision("stored", "first"),
    # Lines neither metric counts: the pos function's reads, ingest's PUT, and the
    # processor's fields on another service.
    cloud_run_entry(_line("pos", event="get", outcome="refused", httpStatus=404), POS_SERVICE),
    cloud_run_entry(_line("ingest", event="put", outcome="accepted", httpStatus=202), INGEST_SERVICE),
    _decision("conflict", "pickup", service=POS_SERVICE),
]  # fmt: skip


def _counted(metric: dict[str, Any]) -> Counter[tuple[tuple[str, str], ...]]:
    selected = compile_filter(metric["filter"])
    counted: Counter[tuple[tuple[str, str], ...]] = Counter()
    for entry in ENTRIES:
        if selected(entry):
            counted[
                tuple(
                    (key, extract(label["extractor"], entry))
                    for key, label in sorted(metric["labels"].items())
                )
            ] += 1
    return counted


@pytest.fixture(scope="module")
def labelled() -> dict[str, Any]:
    counters: dict[str, Any] = evaluate(
        "local.counter_metrics", {"business_unit_label_values": '["BU1"]'}
    )
    return counters


def test_pickups_count_each_answered_store_update_by_event_outcome_and_problem_type(
    labelled: dict[str, Any],
) -> None:
    pickups = labelled["pickups"]
    # The name it had when it counted pickups alone: their series go on.
    assert pickups["name"] == "customer-orders-pickups"

    def key(event: str, outcome: str, problem: str, unit: str) -> tuple[tuple[str, str], ...]:
        return (
            ("business_unit", unit),
            ("event", event),
            ("outcome", outcome),
            ("problem_type", problem),
        )

    assert _counted(pickups) == {
        key("pickup", "recorded", "", "BU1"): 1,
        key("pickup", "repeated", "", ""): 1,
        key("pickup", "refused", "already-picked-up", "BU1"): 1,
        key("pickup", "refused", "not-found", "BU1"): 1,
        key("pickup", "refused", "invalid-id", ""): 1,
        key("pickup", "unavailable", "publish-unavailable", "BU1"): 1,
        key("pickup", "failed", "", "BU1"): 1,
        key("ready", "recorded", "", "BU1"): 1,
        key("ready", "repeated", "", "BU1"): 1,
        key("ready", "refused", "order-cancelled", "BU1"): 1,
        key("ready", "unavailable", "store-unavailable", "BU1"): 1,
    }


def test_conflicts_count_the_processor_refusing_a_cancellation_after_a_pickup(
    labelled: dict[str, Any],
) -> None:
    conflicts = labelled["conflicts"]
    assert conflicts["name"] == "customer-orders-conflicts"
    assert _counted(conflicts) == {(("business_unit", "BU1"),): 1}
    # Without labelled business units the counter has no label at all.
    assert evaluate("local.counter_metrics.conflicts.labels") == {}
