"""What terraform/ deploys, read offline: python-hcl2 for the blocks, ``terraform console`` for the
variable validations. No provider can be downloaded here, so plan/validate cannot run."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from shared.config import (
    DEFAULT_DEAD_LETTER_SUBSCRIPTION,
    DEFAULT_DEAD_LETTER_TOPIC,
    DEFAULT_EVENTS_TOPIC,
    DEFAULT_FIRESTORE_DATABASE,
    DEFAULT_MAX_DELIVERY_ATTEMPTS,
    DEFAULT_ORDERS_TOPIC,
    DEFAULT_PROCESSOR_SUBSCRIPTION,
    DEFAULT_STORE_UPDATES_SUBSCRIPTION,
    DEFAULT_STORE_UPDATES_TOPIC,
    Settings,
)
from shared.domain import search_index, stored_order
from shared.domain.addresses import CUSTOMER_ORDERS
from shared.domain.messages import STORE_UPDATES_PUSH_PATH
from shared.tools.devstack import LocalStack, StackConfig
from shared.tools.functions import FUNCTIONS
from tests.terraform.firestore_indexes import composite_indexes, single_field_indexes
from tests.terraform.tfconfig import (
    REPO_ROOT,
    TerraformConfig,
    check_variables,
    only,
    ref,
    scalars,
)

PROCESSOR_SUBSCRIPTION = "google_pubsub_subscription.processor"
STORE_UPDATES_SUBSCRIPTION = "google_pubsub_subscription.store_updates"
# The processor's two push subscriptions, each of its own topic, alike in all but that.
PUSH_SUBSCRIPTIONS = (PROCESSOR_SUBSCRIPTION, STORE_UPDATES_SUBSCRIPTION)
PROCESSOR_URI = ref("google_cloudfunctions2_function.processor.service_config[0].uri")
PUBSUB_AGENT = ref("local.pubsub_service_agent")


def resolve(tf: TerraformConfig, value: Any) -> Any:
    """A literal, or the default of the one variable the value is (``${var.x}``)."""
    if isinstance(value, str) and (match := re.fullmatch(r"\$\{var\.(\w+)\}", value)):
        return tf.default(match.group(1))
    return value


# --- Pub/Sub ---------------------------------------------------------------------------------


def test_the_processor_subscription_is_ordered_on_the_orders_topic(tf: TerraformConfig) -> None:
    subscription = tf.resource(PROCESSOR_SUBSCRIPTION)
    assert subscription["enable_message_ordering"] is True
    assert subscription["topic"] == ref("google_pubsub_topic.orders.id")
    assert subscription["name"] == ref("var.processor_subscription_name")
    assert tf.resource("google_pubsub_topic.orders")["name"] == ref("var.orders_topic_name")


def test_the_store_updates_have_a_topic_and_an_ordered_subscription_of_their_own(
    tf: TerraformConfig,
) -> None:
    subscription = tf.resource(STORE_UPDATES_SUBSCRIPTION)
    assert subscription["enable_message_ordering"] is True
    assert subscription["topic"] == ref("google_pubsub_topic.store_updates.id")
    assert subscription["name"] == ref("var.store_updates_subscription_name")
    topic = tf.resource("google_pubsub_topic.store_updates")
    assert topic["name"] == ref("var.store_updates_topic_name")
    # Kept as long as the orders topic's messages, to seek both subscriptions back alike.
    assert topic.get("message_retention_duration") == (
        tf.resource("google_pubsub_topic.orders").get("message_retention_duration")
    )
    assert tf.default("store_updates_topic_name") != tf.default("orders_topic_name")


@pytest.mark.parametrize("address", PUSH_SUBSCRIPTIONS)
def test_the_dead_letter_policy_points_at_the_dead_letter_topic(
    tf: TerraformConfig, address: str
) -> None:
    policy = only(tf.resource(address)["dead_letter_policy"])
    assert policy["dead_letter_topic"] == ref("google_pubsub_topic.dead_letter.id")
    assert policy["max_delivery_attempts"] == ref("var.max_delivery_attempts")
    dead_letter_topic = tf.resource("google_pubsub_topic.dead_letter")
    assert dead_letter_topic["name"] == ref("var.dead_letter_topic_name")
    assert tf.default("dead_letter_topic_name") != tf.default("orders_topic_name")


@pytest.mark.parametrize(
    ("attempts", "accepted"),
    [("4", False), ("5", True), ("10", True), ("100", True), ("101", False), ("7.5", False)],
)
def test_max_delivery_attempts_is_validated_to_5_through_100(attempts: str, accepted: bool) -> None:
    result = check_variables(max_delivery_attempts=attempts)
    assert result.failed is not accepted, result.output
    if not accepted:
        assert "max_delivery_attempts must be a whole number from 5 to 100" in result.text


@pytest.mark.parametrize("address", PUSH_SUBSCRIPTIONS)
def test_the_retry_policy_backs_off_exponentially_between_bounds(
    tf: TerraformConfig, address: str
) -> None:
    retry = only(tf.resource(address)["retry_policy"])
    assert retry == {
        "minimum_backoff": "${var.retry_minimum_backoff_seconds}s",
        "maximum_backoff": "${var.retry_maximum_backoff_seconds}s",
    }
    minimum = tf.default("retry_minimum_backoff_seconds")
    maximum = tf.default("retry_maximum_backoff_seconds")
    assert 0 < minimum < maximum <= 600
    refused = check_variables(
        retry_minimum_backoff_seconds="60", retry_maximum_backoff_seconds="30"
    )
    assert refused.failed
    assert "retry_maximum_backoff_seconds must be from" in refused.text


@pytest.mark.parametrize(
    ("address", "path"), [(PROCESSOR_SUBSCRIPTION, ""), (STORE_UPDATES_SUBSCRIPTION, STORE_UPDATES_PUSH_PATH)]
)  # fmt: skip
def test_pushes_carry_an_oidc_token_of_the_invoker_for_the_processor_url(
    tf: TerraformConfig, address: str, path: str
) -> None:
    push = only(tf.resource(address)["push_config"])
    # The path tells the processor which topic a push came from (functions/processor/main.py).
    assert push["push_endpoint"] == (
        "${google_cloudfunctions2_function.processor.service_config[0].uri}" + path
        if path
        else PROCESSOR_URI
    )
    token = only(push["oidc_token"])
    assert token["service_account_email"] == ref("google_service_account.push_invoker.email")
    # The service's URL whatever the path: the audience Cloud Run accepts.
    assert token["audience"] == PROCESSOR_URI
    # Pushed only once the push identity may invoke the processor.
    assert tf.resource(address)["depends_on"] == [
        ref("google_cloud_run_v2_service_iam_member.processor_push_invoker")
    ]


@pytest.mark.parametrize("address", PUSH_SUBSCRIPTIONS)
def test_the_ack_deadline_is_not_below_the_processor_timeout(
    tf: TerraformConfig, address: str
) -> None:
    subscription = tf.resource(address)
    service = only(tf.resource("google_cloudfunctions2_function.processor")["service_config"])
    ack_deadline = resolve(tf, subscription["ack_deadline_seconds"])
    timeout = resolve(tf, service["timeout_seconds"])
    assert isinstance(ack_deadline, int)
    assert isinstance(timeout, int)
    assert timeout <= ack_deadline <= 600
    # Both follow one variable, so no override can make the deadline the shorter one.
    assert subscription["ack_deadline_seconds"] == service["timeout_seconds"]


def test_undelivered_messages_are_retained(tf: TerraformConfig) -> None:
    for address in (*PUSH_SUBSCRIPTIONS, "google_pubsub_subscription.dead_letter"):
        subscription = tf.resource(address)
        assert subscription["message_retention_duration"] == "${var.message_retention_seconds}s"
        assert only(subscription["expiration_policy"]) == {"ttl": ""}, address
    assert tf.default("message_retention_seconds") == 7 * 24 * 3600


def test_the_dead_letter_topic_has_a_long_lived_pull_subscription(tf: TerraformConfig) -> None:
    subscription = tf.resource("google_pubsub_subscription.dead_letter")
    assert subscription["topic"] == ref("google_pubsub_topic.dead_letter.id")
    assert subscription["name"] == ref("var.dead_letter_subscription_name")
    assert "push_config" not in subscription
    assert subscription["retain_acked_messages"] is True
    topic = tf.resource("google_pubsub_topic.dead_letter")
    assert topic["message_retention_duration"] == "${var.dead_letter_topic_retention_seconds}s"
    assert tf.default("dead_letter_topic_retention_seconds") == 31 * 24 * 3600


# --- IAM -------------------------------------------------------------------------------------


def iam_grants(tf: TerraformConfig) -> dict[str, set[tuple[str, str, str]]]:
    """member => {(resource type, role, what it is granted on)} over every IAM member resource."""
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for address, body in tf.all_resources():
        kind = address.split(".")[0]
        if not kind.endswith("_iam_member"):
            continue
        if body["role"] == ref("each.value"):
            roles = re.findall(r'"(roles/[^"]+)"', body["for_each"])
        else:
            roles = [body["role"]]
        target = next(
            body[key] for key in ("topic", "subscription", "name", "project") if key in body
        )
        member = body["member"]
        if member == ref("each.value"):
            member = body["for_each"]
        for role in roles:
            grants.setdefault(member, set()).add((kind, role, target))
    return grants


def test_every_identity_holds_only_what_its_job_needs(tf: TerraformConfig) -> None:
    project = ref("var.project_id")
    assert iam_grants(tf) == {
        ref("google_service_account.ingest.member"): {
            ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.orders.name")),
            ("google_project_iam_member", "roles/datastore.viewer", project),
        },
        ref("google_service_account.processor.member"): {
            ("google_project_iam_member", "roles/datastore.user", project),
            ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.events.name")),
        },
        # The store-updates topic alone: it cannot publish an OMS version (issue 28, item 5).
        ref("google_service_account.pos.member"): {
            ("google_project_iam_member", "roles/datastore.user", project),
            ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.store_updates.name")),
        },
        ref("google_service_account.push_invoker.member"): {
            ("google_cloud_run_v2_service_iam_member", "roles/run.invoker", ref("google_cloudfunctions2_function.processor.service_config[0].service")),
        },
        PUBSUB_AGENT: {
            ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.dead_letter.name")),
            ("google_pubsub_subscription_iam_member", "roles/pubsub.subscriber", ref("google_pubsub_subscription.processor.name")),
            ("google_pubsub_subscription_iam_member", "roles/pubsub.subscriber", ref("google_pubsub_subscription.store_updates.name")),
            ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", ref("google_pubsub_topic.webhook_dead_letter[each.key].name")),
            ("google_pubsub_subscription_iam_member", "roles/pubsub.subscriber", ref("google_pubsub_subscription.webhook[each.key].name")),
        },
        # The OMS may call ingest alone, the POS pos alone (docs/deploying.md#identities-and-iam).
        ref("toset(var.ingest_invoker_members)"): {
            ("google_cloud_run_v2_service_iam_member", "roles/run.invoker", ref("google_cloudfunctions2_function.ingest.service_config[0].service")),
        },
        ref("toset(var.pos_invoker_members)"): {
            ("google_cloud_run_v2_service_iam_member", "roles/run.invoker", ref("google_cloudfunctions2_function.pos.service_config[0].service")),
        },
        # Who runs orders-stores: the grants are documents of the orders database.
        ref("toset(var.stores_operators)"): {
            ("google_project_iam_member", "roles/datastore.user", project),
        },
        ref("google_service_account.build.member"): {
            ("google_project_iam_member", "roles/artifactregistry.writer", project),
            ("google_project_iam_member", "roles/logging.logWriter", project),
            ("google_project_iam_member", "roles/storage.objectAdmin", project),
        },
    }  # fmt: skip


def test_firestore_grants_are_limited_to_the_orders_database(tf: TerraformConfig) -> None:
    for address in (
        "google_project_iam_member.ingest_firestore_reader",
        "google_project_iam_member.processor_firestore_user",
        "google_project_iam_member.pos_firestore_user",
        "google_project_iam_member.stores_operators",
    ):
        condition = only(tf.resource(address)["condition"])
        assert condition["expression"] == (
            'resource.name == "projects/${var.project_id}/databases/${local.firestore_database}"'
        ), address


def test_the_dead_letter_grants_go_to_the_pubsub_service_agent(tf: TerraformConfig) -> None:
    assert tf.locals["pubsub_service_agent"] == (
        "serviceAccount:${google_project_service_identity.pubsub.email}"
    )
    identity = tf.resource("google_project_service_identity.pubsub")
    assert identity["service"] == "pubsub.googleapis.com"
    assert identity["provider"] == "google-beta"


def test_iam_is_additive_and_never_public(tf: TerraformConfig) -> None:
    authoritative = [
        kind for kind in tf.resources if kind.endswith(("_iam_binding", "_iam_policy"))
    ]
    assert authoritative == [], "authoritative IAM would remove grants made outside Terraform"
    for address, body in tf.all_resources():
        for value in scalars(body):
            assert "allUsers" not in str(value), address
            assert "allAuthenticatedUsers" not in str(value), address


@pytest.mark.parametrize(
    ("members", "accepted"),
    [
        ('["allUsers"]', False),
        ('["allAuthenticatedUsers"]', False),
        ('["oms@example.com"]', False),
        (
            '["serviceAccount:oms@oms-project.iam.gserviceaccount.com", "group:oms@example.com"]',
            True,
        ),
    ],
)
def test_ingest_invokers_must_be_named_members(members: str, accepted: bool) -> None:
    result = check_variables(ingest_invoker_members=members)
    assert result.failed is not accepted, result.output
    if not accepted:
        assert "allUsers and allAuthenticatedUsers are not allowed" in result.text


# --- Functions -------------------------------------------------------------------------------


def test_the_processor_has_no_event_trigger_and_internal_ingress(tf: TerraformConfig) -> None:
    processor = tf.resource("google_cloudfunctions2_function.processor")
    assert "event_trigger" not in processor
    service = only(processor["service_config"])
    assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
    assert service["service_account_email"] == ref("google_service_account.processor.email")


def test_the_ingest_function_is_reachable_but_authenticated(tf: TerraformConfig) -> None:
    ingest = tf.resource("google_cloudfunctions2_function.ingest")
    service = only(ingest["service_config"])
    # Open ingress for the OMS outside Google Cloud; only IAM decides who gets in.
    assert service["ingress_settings"] == "ALLOW_ALL"
    assert service["service_account_email"] == ref("google_service_account.ingest.email")
    invokers = tf.resource("google_cloud_run_v2_service_iam_member.ingest_invoker")
    assert invokers["for_each"] == ref("toset(var.ingest_invoker_members)")
    assert tf.default("ingest_invoker_members") == []


def test_the_functions_get_the_settings_the_code_reads(tf: TerraformConfig) -> None:
    ingest_env = only(tf.resource("google_cloudfunctions2_function.ingest")["service_config"])[
        "environment_variables"
    ]
    processor_env = only(
        tf.resource("google_cloudfunctions2_function.processor")["service_config"]
    )["environment_variables"]
    assert ingest_env["GOOGLE_CLOUD_PROJECT"] == ref("var.project_id")
    assert ingest_env["ORDERS_TOPIC"] == ref("google_pubsub_topic.orders.name")
    assert ingest_env["FIRESTORE_DATABASE"] == ref("local.firestore_database")
    assert processor_env["GOOGLE_CLOUD_PROJECT"] == ref("var.project_id")
    assert processor_env["FIRESTORE_DATABASE"] == ref("local.firestore_database")
    # The names are the ones Settings reads: each value set here reaches the code.
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "p", "ORDERS_TOPIC": "t", "FIRESTORE_DATABASE": "d"}
    )
    assert (settings.project_id, settings.orders_topic, settings.firestore_database) == (
        "p",
        "t",
        "d",
    )


@pytest.mark.parametrize("function", ["ingest", "processor", "pos"])
def test_each_instance_serves_as_many_requests_as_its_one_worker_has_threads(
    tf: TerraformConfig, function: str
) -> None:
    service = only(tf.resource(f"google_cloudfunctions2_function.{function}")["service_config"])
    concurrency = ref("var.function_request_concurrency")
    assert service["max_instance_request_concurrency"] == concurrency
    assert service["environment_variables"]["WORKERS"] == "1"
    assert service["environment_variables"]["THREADS"] == ref(
        "tostring(var.function_request_concurrency)"
    )
    # Cloud Run refuses a concurrency above 1 with less than one vCPU.
    assert float(service["available_cpu"]) >= 1
    assert tf.default("function_request_concurrency") == 16


def test_both_functions_use_a_python_runtime_and_their_entry_points(tf: TerraformConfig) -> None:
    assert re.fullmatch(r"python3(1[1-9]|[2-9]\d)", tf.default("python_runtime"))
    declared = {name: spec["entry_point"] for name, spec in tf.locals["functions"].items()}
    assert declared == FUNCTIONS
    for name, entry_point in FUNCTIONS.items():
        function = tf.resource(f"google_cloudfunctions2_function.{name}")
        build = only(function["build_config"])
        assert build["runtime"] == ref("var.python_runtime")
        assert build["entry_point"] == ref(f"local.functions.{name}.entry_point")
        assert build["service_account"] == ref("google_service_account.build.id")
        source = only(only(build["source"])["storage_source"])
        assert source["object"] == ref(
            f'google_storage_bucket_object.function_source["{name}"].name'
        )
        main = ast.parse(
            (REPO_ROOT / "functions" / tf.locals["functions"][name]["dir"] / "main.py").read_text()
        )
        defined = {node.name for node in main.body if isinstance(node, ast.FunctionDef)}
        assert entry_point in defined, f"functions/{name}/main.py defines no {entry_point}()"


def test_a_code_change_uploads_a_new_object(tf: TerraformConfig) -> None:
    archive = tf.data["archive_file"]["function_source"]
    source = only(archive["dynamic"])["source"]
    assert source["for_each"] == ref("module.function_source[each.key].files")
    assert tf.modules["function_source"]["source"] == "./modules/function_source"
    upload = tf.resource("google_storage_bucket_object.function_source")
    assert "${data.archive_file.function_source[each.key].output_md5}" in upload["name"]
    assert upload["source"] == ref("data.archive_file.function_source[each.key].output_path")


def test_firestore_is_created_in_native_mode_only_when_asked(tf: TerraformConfig) -> None:
    database = tf.resource("google_firestore_database.orders")
    assert database["count"] == ref("var.create_firestore_database ? 1 : 0")
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["name"] == ref("var.firestore_database")
    assert tf.locals["firestore_database"] == ref(
        "var.create_firestore_database ? google_firestore_database.orders[0].name : var.firestore_database"
    )


def test_every_stored_field_but_the_searched_ones_is_exempt_from_indexing(
    tf: TerraformConfig,
) -> None:
    assert tf.locals["order_collection_group"] == CUSTOMER_ORDERS
    unindexed = tf.resource("google_firestore_field.unindexed")
    assert unindexed["for_each"] == ref("toset(local.unindexed_order_fields)")
    assert unindexed["index_config"] == [{}]
    assert set(tf.locals["unindexed_order_fields"]) == set(stored_order.FIELDS) - {
        stored_order.RECEIVED_AT
    }
    for name, block in tf.resources_of("google_firestore_field").items():
        assert block["database"] == ref("local.firestore_database")
        # The POS grants' own collections: tests/terraform/test_pos_access.py.
        if name not in ("grants_unindexed", "store_update_unindexed"):
            assert block["collection"] == ref("local.order_collection_group")


def test_no_field_of_a_store_update_s_document_is_indexed(tf: TerraformConfig) -> None:
    # Read by its id alone (shared/adapters/firestore.py), never searched.
    assert tf.locals["store_update_collection_group"] == stored_order.STORE_UPDATES
    assert set(tf.locals["unindexed_store_update_fields"]) == set(stored_order.UPDATE_FIELDS)
    unindexed = tf.resource("google_firestore_field.store_update_unindexed")
    assert unindexed["for_each"] == ref("toset(local.unindexed_store_update_fields)")
    assert unindexed["collection"] == ref("local.store_update_collection_group")
    assert unindexed["index_config"] == [{}]


def test_terraform_creates_exactly_the_search_s_indexes(tf: TerraformConfig) -> None:
    assert composite_indexes(tf) == set(search_index.COMPOSITE_INDEXES)
    assert single_field_indexes(tf) == set(search_index.SINGLE_FIELD_INDEXES)
    index = tf.resource("google_firestore_index.search")
    assert index["collection"] == ref("local.order_collection_group")
    assert index["database"] == ref("local.firestore_database")
    # Composite indexes count against 200 per database (1,000 with billing).
    assert len(composite_indexes(tf)) <= 10


def test_every_api_used_is_enabled(tf: TerraformConfig) -> None:
    enabled = set(re.findall(r'"([a-z]+\.googleapis\.com)"', tf.locals["services"]))
    assert enabled >= {
        "artifactregistry.googleapis.com",
        "cloudbuild.googleapis.com",
        "cloudfunctions.googleapis.com",
        "firestore.googleapis.com",
        "iam.googleapis.com",
        "monitoring.googleapis.com",
        "pubsub.googleapis.com",
        "run.googleapis.com",
        "storage.googleapis.com",
    }
    assert tf.resource("google_project_service.enabled")["disable_on_destroy"] is False


# --- Monitoring ------------------------------------------------------------------------------


def threshold(tf: TerraformConfig, address: str) -> dict[str, Any]:
    policy = tf.resource(address)
    assert policy["notification_channels"] == ref("var.notification_channels")
    return only(only(policy["conditions"])["condition_threshold"])


def test_an_alert_fires_when_anything_is_dead_lettered(tf: TerraformConfig) -> None:
    condition = threshold(tf, "google_monitoring_alert_policy.dead_letters")
    assert "pubsub.googleapis.com/subscription/num_undelivered_messages" in condition["filter"]
    assert "${google_pubsub_subscription.dead_letter.name}" in condition["filter"]
    assert condition["comparison"] == "COMPARISON_GT"
    assert condition["threshold_value"] == 0


@pytest.mark.parametrize(
    ("alert", "subscription"),
    [("processor_backlog_age", "processor"), ("store_updates_backlog_age", "store_updates")],
)
def test_an_alert_fires_when_either_subscription_falls_behind(
    tf: TerraformConfig, alert: str, subscription: str
) -> None:
    condition = threshold(tf, f"google_monitoring_alert_policy.{alert}")
    assert "pubsub.googleapis.com/subscription/oldest_unacked_message_age" in condition["filter"]
    assert f"${{google_pubsub_subscription.{subscription}.name}}" in condition["filter"]
    assert condition["comparison"] == "COMPARISON_GT"
    assert condition["threshold_value"] == ref("var.oldest_unacked_message_age_threshold_seconds")


# --- Module interface ------------------------------------------------------------------------


def test_terraform_and_provider_versions_are_bounded(tf: TerraformConfig) -> None:
    (settings,) = tf.terraform
    assert re.fullmatch(r">= 1\.\d+\.\d+, < 2\.0\.0", settings["required_version"])
    providers = only(settings["required_providers"])
    for name in ("google", "google-beta", "archive", "time"):
        assert providers[name]["source"] == f"hashicorp/{name}"
        assert re.fullmatch(r">= [\d.]+, < [\d.]+", providers[name]["version"]), name


def test_every_variable_has_a_description_and_a_type(tf: TerraformConfig) -> None:
    for name, variable in tf.variables.items():
        assert variable.get("description"), name
        assert variable.get("type"), name
    assert {name for name, v in tf.variables.items() if "default" not in v} == {
        "project_id",
        "region",
    }


def test_the_outputs_tell_the_platform_team_what_was_deployed(tf: TerraformConfig) -> None:
    assert set(tf.outputs) >= {
        "ingest_url",
        "orders_topic",
        "processor_subscription",
        "store_updates_topic",
        "store_updates_subscription",
        "dead_letter_topic",
        "dead_letter_subscription",
        "ingest_service_account",
        "processor_service_account",
        "push_invoker_service_account",
        "pos_url",
        "pos_service_account",
    }
    assert tf.outputs["ingest_url"]["value"] == ref(
        "google_cloudfunctions2_function.ingest.service_config[0].uri"
    )
    assert tf.outputs["pos_url"]["value"] == ref(
        "google_cloudfunctions2_function.pos.service_config[0].uri"
    )
    assert tf.outputs["pos_service_account"]["value"] == ref("google_service_account.pos.email")
    assert tf.outputs["orders_topic"]["value"] == ref("google_pubsub_topic.orders.name")
    assert tf.outputs["store_updates_topic"]["value"] == ref(
        "google_pubsub_topic.store_updates.name"
    )
    assert tf.outputs["dead_letter_subscription"]["value"] == ref(
        "google_pubsub_subscription.dead_letter.name"
    )


# --- Drift against the local stack -----------------------------------------------------------


def test_terraform_defaults_match_the_local_stack(
    tf: TerraformConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tf.default("orders_topic_name") == DEFAULT_ORDERS_TOPIC
    assert tf.default("events_topic_name") == DEFAULT_EVENTS_TOPIC
    assert tf.default("processor_subscription_name") == DEFAULT_PROCESSOR_SUBSCRIPTION
    assert tf.default("store_updates_topic_name") == DEFAULT_STORE_UPDATES_TOPIC
    assert tf.default("store_updates_subscription_name") == DEFAULT_STORE_UPDATES_SUBSCRIPTION
    assert tf.default("dead_letter_topic_name") == DEFAULT_DEAD_LETTER_TOPIC
    assert tf.default("dead_letter_subscription_name") == DEFAULT_DEAD_LETTER_SUBSCRIPTION
    assert tf.default("max_delivery_attempts") == DEFAULT_MAX_DELIVERY_ATTEMPTS
    assert tf.default("firestore_database") == DEFAULT_FIRESTORE_DATABASE

    # What the local stack really creates, captured instead of sent to an emulator.
    created: dict[str, Any] = {}
    monkeypatch.setattr(
        LocalStack, "_put", staticmethod(lambda url, body: created.__setitem__(url, body))
    )
    stack = LocalStack(StackConfig())
    try:
        stack.create_resources()
    finally:
        stack.stop()
    names = {
        url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]: body for url, body in created.items()
    }
    project = StackConfig().project_id
    events = tf.default("events_topic_name")
    # The local stack's one webhook, named as terraform/webhooks.tf names each webhook's.
    webhook = {
        f"topics/{events}-local-dead-letter",
        f"subscriptions/{events}-local-dead-letter",
        f"topics/{events}-local-replay",
        f"subscriptions/{events}-local",
        f"subscriptions/{events}-local-replay",
    }
    assert set(names) == {
        f"topics/{tf.default('orders_topic_name')}",
        f"topics/{tf.default('dead_letter_topic_name')}",
        f"subscriptions/{tf.default('processor_subscription_name')}",
        f"topics/{tf.default('store_updates_topic_name')}",
        f"subscriptions/{tf.default('store_updates_subscription_name')}",
        f"subscriptions/{tf.default('dead_letter_subscription_name')}",
        f"topics/{events}",
        *webhook,
    }
    pushed = names[f"subscriptions/{events}-local"]
    assert pushed["topic"] == f"projects/{project}/topics/{events}"
    assert pushed["pushConfig"]["noWrapper"] == {"writeMetadata": True}
    assert pushed["enableMessageOrdering"] is True
    assert pushed["deadLetterPolicy"]["deadLetterTopic"] == (
        f"projects/{project}/topics/{events}-local-dead-letter"
    )
    processor = names[f"subscriptions/{tf.default('processor_subscription_name')}"]
    assert processor["topic"] == f"projects/{project}/topics/{tf.default('orders_topic_name')}"
    assert processor["enableMessageOrdering"] is True
    assert processor["deadLetterPolicy"] == {
        "deadLetterTopic": f"projects/{project}/topics/{tf.default('dead_letter_topic_name')}",
        "maxDeliveryAttempts": tf.default("max_delivery_attempts"),
    }
    updates = names[f"subscriptions/{tf.default('store_updates_subscription_name')}"]
    assert updates["topic"] == (
        f"projects/{project}/topics/{tf.default('store_updates_topic_name')}"
    )
    assert updates["enableMessageOrdering"] is True
    assert updates["pushConfig"]["pushEndpoint"].endswith(STORE_UPDATES_PUSH_PATH)
    # One dead-letter topic for both, as in terraform/pubsub.tf.
    assert updates["deadLetterPolicy"] == processor["deadLetterPolicy"]
    dead_letters = names[f"subscriptions/{tf.default('dead_letter_subscription_name')}"]
    assert dead_letters["topic"] == processor["deadLetterPolicy"]["deadLetterTopic"]


# --- References (what `terraform validate` would catch, were the providers here) -------------


def references(tf: TerraformConfig) -> set[tuple[str, str]]:
    """(kind, address) of every var., local., module., data. and resource reference."""
    found: set[tuple[str, str]] = set()
    blocks = [tf.resources, tf.data, tf.outputs, tf.locals, tf.modules, tf.variables]
    for value in scalars(blocks):
        if not isinstance(value, str) or "${" not in value:
            continue
        for kind in ("var", "local", "module"):
            found |= {(kind, name) for name in re.findall(rf"\b{kind}\.(\w+)", value)}
        found |= {("data", f"{t}.{n}") for t, n in re.findall(r"\bdata\.(\w+)\.(\w+)", value)}
        found |= {
            ("resource", f"{t}.{n}")
            for t, n in re.findall(r"(?<![\w.])((?:google|time)(?:_[a-z0-9]+)+)\.([a-z]\w*)", value)
        }
    return found


def test_every_reference_points_at_something_declared(tf: TerraformConfig) -> None:
    declared = (
        {("var", name) for name in tf.variables}
        | {("local", name) for name in tf.locals}
        | {("module", name) for name in tf.modules}
        | {("data", f"{kind}.{name}") for kind, named in tf.data.items() for name in named}
        | {("resource", address) for address, _ in tf.all_resources()}
    )
    used = references(tf)
    assert used - declared == set()
    unused_variables = set(tf.variables) - {n for k, n in used if k == "var"}
    assert unused_variables == set()
