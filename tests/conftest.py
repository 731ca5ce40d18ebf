"""Fixtures: one local stack (real emulators, real functions) per test session, on free ports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import requests

from shared.tools.devstack import LocalStack, StackConfig

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
