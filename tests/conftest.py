"""Fixtures: one local stack (real emulators, real functions) per test session, on free ports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import requests

from shared.tools.devstack import LocalStack, StackConfig
from shared.tools.functions import REPO_ROOT

if TYPE_CHECKING:
    from google.cloud import firestore


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """Both emulators, the topics and subscriptions, and both functions.

    Free ports and an own project id, so a running ``make dev`` is never touched.
    The in-process clients of the tests talk to the same emulators.
    """
    config = StackConfig.on_free_ports(
        project_id="demo-test-customer-orders",
        # Short, so the publish-failure tests do not wait the production 10 s.
        function_env={"PUBLISH_TIMEOUT_SECONDS": "3"},
    )
    saved = {key: os.environ.get(key) for key in config.emulator_env()}
    os.environ.update(config.emulator_env())
    try:
        with LocalStack(config) as running:
            yield running
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def ingest_url(stack: LocalStack) -> str:
    return stack.config.ingest_url


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def firestore_client(stack: LocalStack) -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=stack.config.project_id)


@pytest.fixture
def pos_as(stack: LocalStack) -> Iterator[Callable[[str], requests.Session]]:
    """``pos_as(email)``: a session that calls the pos function as ``email`` (its grants apply)."""
    from tests.access_support import session_for

    opened: list[requests.Session] = []

    def session(email: str) -> requests.Session:
        opened.append(session_for(stack, email))
        return opened[-1]

    yield session
    for each in opened:
        each.close()


# The files that take longest, in that order, ahead of the rest. Each worker takes whole
# files (docs/development.md#set-up); xdist's default order, most tests first, left the
# long single-test files for last and one worker idle while the other ran them. A file
# missing here only runs later.
LONGEST_FIRST = (
    "tests/reliability/test_faults.py",
    "tests/integration/test_devstack.py",
    "tests/integration/test_outage_alerts.py",
    "tests/integration/test_store_updates.py",
    "tests/integration/test_sync_faults.py",
    "tests/integration/test_sync_resume.py",
    "tests/integration/test_sync_push.py",
    "tests/fuzz/test_hostile.py",
    "tests/integration/test_store_access.py",
    "tests/fuzz/test_schemathesis.py",
    "tests/integration/test_log_metrics.py",
    "tests/terraform/test_deploy_package.py",
    "tests/terraform/test_observability.py",
    "tests/integration/test_end_to_end.py",
    "tests/dlq/test_inspect.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    gone = [path for path in LONGEST_FIRST if not (REPO_ROOT / path).is_file()]
    if gone:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names no file: {gone}")
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    # Stable: the other files, and the tests within each file, keep their order.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
