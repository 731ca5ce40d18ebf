"""checkov, run once: terraform/ passes, every skip is justified, and the custom Pub/Sub policies
pass on the processor subscription and fail on a fixture that breaks each of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.tfconfig import REPO_ROOT, TERRAFORM_DIR

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
POLICIES = TERRAFORM_DIR / "checkov"
FIXTURE = Path(__file__).parent / "checkov_fixture"
CUSTOM = {"CKV2_COE_1", "CKV2_COE_2", "CKV2_COE_3"}

Finding = tuple[str, str]


def findings(checks: list[dict[str, Any]], folder: str) -> set[Finding]:
    return {
        (check["check_id"], check["resource"])
        for check in checks
        if check["file_path"].startswith(f"/{folder}/")
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run `make checkov` once")
    # One directory holding both, because checkov given two -d folders mixed up their results.
    scan = tmp_path_factory.mktemp("checkov")
    shutil.copytree(
        TERRAFORM_DIR,
        scan / "terraform",
        ignore=shutil.ignore_patterns("checkov", "build", ".terraform", "*.tfstate*"),
    )
    shutil.copytree(FIXTURE, scan / "fixture")
    completed = subprocess.run(
        [
            str(CHECKOV), "--directory", str(scan), "--framework", "terraform",
            "--skip-download", "--external-checks-dir", str(POLICIES), "--output", "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr
    parsed = json.loads(completed.stdout)
    result: dict[str, Any] = parsed[0] if isinstance(parsed, list) else parsed
    return result


def test_terraform_passes_checkov(
    report: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    results = report["results"]
    assert report["summary"]["parsing_errors"] == 0
    assert findings(results["failed_checks"], "terraform") == set()
    passed = findings(results["passed_checks"], "terraform")
    skipped = findings(results["skipped_checks"], "terraform")
    assert len(passed) > 20
    with capsys.disabled():
        print(
            f"\n[figure] checkov on terraform/: {len(passed)} passed, 0 failed, "
            f"{len(skipped)} skipped: {', '.join(sorted(f'{c} ({r})' for c, r in skipped))}"
        )


def test_every_skipped_check_is_justified(report: dict[str, Any]) -> None:
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{check['check_id']} on {check['resource']}: {reason!r}"
    for path in TERRAFORM_DIR.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"#checkov:skip=CKV\w+:\S.{20,}", line), f"{path.name}: {line}"


def test_the_custom_policies_pass_on_the_deployed_subscriptions(report: dict[str, Any]) -> None:
    passed = findings(report["results"]["passed_checks"], "terraform")
    for subscription in ("processor", "dead_letter"):
        for check in CUSTOM:
            assert (check, f"google_pubsub_subscription.{subscription}") in passed


def test_each_custom_policy_fails_where_it_should(report: dict[str, Any]) -> None:
    failed = {
        finding
        for finding in findings(report["results"]["failed_checks"], "fixture")
        if finding[0] in CUSTOM
    }
    assert failed == {
        ("CKV2_COE_1", "google_pubsub_subscription.unordered"),
        ("CKV2_COE_2", "google_pubsub_subscription.no_dead_letter"),
        ("CKV2_COE_2", "google_pubsub_subscription.too_many_attempts"),
        ("CKV2_COE_3", "google_pubsub_subscription.no_backoff"),
    }
