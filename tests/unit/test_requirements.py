"""The lock is current, and functions/requirements.txt is its runtime set, pinned and hashed."""

from __future__ import annotations

import re
import subprocess
import tomllib
from typing import Any

from uv import find_uv_bin

from shared.tools import requirements, uv_requirement
from shared.tools.functions import REPO_ROOT

LOCK = REPO_ROOT / "uv.lock"
PROJECT = "customer-order-events"
REQUIREMENT = re.compile(r"([A-Za-z0-9._-]+)==(\S+)")


def locked_packages() -> dict[str, dict[str, Any]]:
    with LOCK.open("rb") as handle:
        packages: list[dict[str, Any]] = tomllib.load(handle)["package"]
    by_name = {package["name"]: package for package in packages}
    # One version per name: a forked resolution would need the walk below to follow markers.
    assert len(by_name) == len(packages)
    return by_name


def runtime_closure(packages: dict[str, dict[str, Any]]) -> set[str]:
    """Everything the project's own dependencies pull in, its extras (tools, dev) left out."""
    found: set[str] = set()
    pending: list[dict[str, Any]] = list(packages[PROJECT]["dependencies"])
    while pending:
        dependency = pending.pop()
        package = packages[dependency["name"]]
        pending.extend(
            extra_dependency
            for extra in dependency.get("extra", [])
            for extra_dependency in package["optional-dependencies"][extra]
        )
        if dependency["name"] not in found:
            found.add(dependency["name"])
            pending.extend(package.get("dependencies", []))
    return found


def deployed() -> dict[str, tuple[str, list[str]]]:
    """functions/requirements.txt as name => (version, hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: list[str] = []
    for line in requirements.REQUIREMENTS.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            current.append(stripped.removeprefix("--hash=").removesuffix(" \\"))
            continue
        match = REQUIREMENT.match(stripped)
        assert match, f"not an exact pin: {line!r}"
        assert not line.startswith(" "), f"not a requirement of its own: {line!r}"
        current = []
        pins[match.group(1)] = (match.group(2), current)
    return pins


def test_the_lock_matches_pyproject() -> None:
    checked = subprocess.run(
        [find_uv_bin(), "lock", "--check", "--offline"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, (
        f"uv.lock does not match pyproject.toml: run `make lock LOCK_ARGS=`\n{checked.stderr}"
    )


def test_deploy_requirements_match_the_lock() -> None:
    assert requirements.REQUIREMENTS.read_text() == requirements.render(), (
        "functions/requirements.txt is out of date: run `make requirements`"
    )


def test_the_deployed_set_is_the_locked_runtime_set_with_hashes() -> None:
    packages = locked_packages()
    pins = deployed()
    # No tool or dev package, and not the project: the zip carries shared/ itself.
    assert set(pins) == runtime_closure(packages)
    assert {"pytest", "mypy", "uv", "tqdm", PROJECT}.isdisjoint(pins)
    for name, (pinned, hashes) in pins.items():
        assert pinned == packages[name]["version"], name
        assert hashes, f"{name} has no hash: pip would refuse the whole file"


def test_make_bootstraps_the_locked_uv_with_its_hashes() -> None:
    line = uv_requirement.requirement()
    uv = locked_packages()["uv"]
    assert line.startswith(f"uv=={uv['version']} --hash=sha256:")
    assert all(f"--hash={wheel['hash']}" in line for wheel in uv["wheels"])
