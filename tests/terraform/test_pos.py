"""The pos function in Terraform: its own invokers, disjoint from the OMS's, and the statuses.

Who may invoke which function is held by tests/terraform/test_configuration.py's table of
every identity's rights; here, what keeps the two audiences apart and configured alike.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import DEFAULT_CANCELLED_STATUSES, DEFAULT_PICKED_UP_STATUS
from tests.terraform.tfconfig import TERRAFORM_DIR, TerraformConfig, ref, terraform_console

REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}
OMS = "serviceAccount:oms@oms-project.iam.gserviceaccount.com"
POS = "serviceAccount:pos@stores-project.iam.gserviceaccount.com"


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
        ({"picked_up_status": "CANCELLED"}, "none of cancelled_statuses"),
        ({"picked_up_status": "A,B"}, "without surrounding spaces or commas"),
        ({"cancelled_statuses": "[]"}, "at least one status"),
    ],
)
def test_the_statuses_are_validated(variables: dict[str, str], message: str) -> None:
    result = _console(**variables)
    assert result.failed
    assert message in result.text


def test_the_defaults_are_the_codes(tf: TerraformConfig) -> None:
    assert tf.default("picked_up_status") == DEFAULT_PICKED_UP_STATUS
    assert tuple(tf.default("cancelled_statuses")) == DEFAULT_CANCELLED_STATUSES


def test_the_pos_and_the_processor_are_told_the_statuses(tf: TerraformConfig) -> None:
    for name in ("pos", "processor"):
        function = tf.resource(f"google_cloudfunctions2_function.{name}")
        env = function["service_config"][0]["environment_variables"]
        assert env["PICKED_UP_STATUS"] == ref("local.status_env.PICKED_UP_STATUS"), name
        assert env["CANCELLED_STATUSES"] == ref("local.status_env.CANCELLED_STATUSES"), name
    assert tf.locals["status_env"] == {
        "PICKED_UP_STATUS": ref("var.picked_up_status"),
        "CANCELLED_STATUSES": ref('join(",", var.cancelled_statuses)'),
    }
    pos = tf.resource("google_cloudfunctions2_function.pos")["service_config"][0]
    assert pos["environment_variables"]["ORDERS_TOPIC"] == ref("google_pubsub_topic.orders.name")
    assert "EVENTS_TOPIC" not in pos["environment_variables"]
    assert pos["service_account_email"] == ref("google_service_account.pos.email")
