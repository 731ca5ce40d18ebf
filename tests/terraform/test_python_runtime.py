"""One Python decision: the lock, the tests and the deployed runtime name the same version.

``.python-version`` holds it; ``requires-python`` (and so uv.lock, which pins wheels for it
alone), mypy, ruff and Terraform's ``python_runtime`` must follow. Moving to another Python
means changing them together, then ``make lock`` (docs/deploying.md#upgrading-dependencies).
"""

from __future__ import annotations

import re
import sys
import tomllib
from typing import Any

import pytest

from tests.terraform.tfconfig import REPO_ROOT, TERRAFORM_DIR, TerraformConfig, terraform_console


def decided() -> tuple[int, int]:
    text = (REPO_ROOT / ".python-version").read_text().strip()
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    assert match, f".python-version must name one minor version (3.11), not {text!r}"
    return int(match.group(1)), int(match.group(2))


def toml(name: str) -> dict[str, Any]:
    with (REPO_ROOT / name).open("rb") as handle:
        return tomllib.load(handle)


MAJOR, MINOR = decided()
VERSION = f"{MAJOR}.{MINOR}"
RUNTIME = f"python{MAJOR}{MINOR}"


def test_pyproject_requires_exactly_that_python() -> None:
    pyproject = toml("pyproject.toml")
    assert pyproject["project"]["requires-python"] == f"=={VERSION}.*"
    assert pyproject["tool"]["mypy"]["python_version"] == VERSION
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{MAJOR}{MINOR}"


def test_the_lock_is_resolved_for_it() -> None:
    assert toml("uv.lock")["requires-python"] == f"=={VERSION}.*"


def test_the_tests_run_on_it() -> None:
    assert sys.version_info[:2] == (MAJOR, MINOR), ".venv was built from another Python"


def test_terraform_deploys_it(tf: TerraformConfig) -> None:
    assert tf.default("python_runtime") == RUNTIME


@pytest.mark.parametrize(
    ("runtime", "accepted"), [(RUNTIME, True), (f"python{MAJOR}{MINOR + 1}", False)]
)
def test_terraform_refuses_a_runtime_the_lock_is_not_resolved_for(
    runtime: str, accepted: bool
) -> None:
    result = terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        "true",
        {"project_id": "demo-project", "region": "europe-west1", "python_runtime": runtime},
    )
    assert result.failed is not accepted, result.output
    if not accepted:
        assert f"must be {RUNTIME}" in result.text
