"""``orders-stores`` as an operator runs it: its own process, against the Firestore emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_grants import FirestoreGrantStore
from shared.domain.grants import GRANT_CHANGES_COLLECTION, GRANTS_COLLECTION, Grant
from shared.tools.devstack import LocalStack
from shared.tools.functions import REPO_ROOT
from tests.support import unique_id

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration


def orders_stores(stack: LocalStack, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "GOOGLE_CLOUD_PROJECT"}
    return subprocess.run(
        [sys.executable, "-m", "shared.tools.stores", *argv],
        env={**env, **stack.config.emulator_env()},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_grants_are_documents_and_each_change_is_audited(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    identity = f"store-{unique_id('G').lower()}@example.com"
    first = orders_stores(stack, "grant", identity, "BU1", "BU2")
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{identity}: nothing -> BU1, BU2\n"
    audit = json.loads(first.stderr.splitlines()[-1])
    assert audit["operator"].endswith("(emulator)")
    assert (audit["before"], audit["after"]) == (
        None,
        {"businessUnits": ["BU1", "BU2"], "allBusinessUnits": False},
    )
    document = firestore_client.collection(GRANTS_COLLECTION).document(identity).get().to_dict()
    assert document is not None
    assert {k: v for k, v in document.items() if k != "updatedAt"} == {
        "businessUnits": ["BU1", "BU2"],
        "allBusinessUnits": False,
        "updatedBy": audit["operator"],
    }
    # What the pos function reads: one document for the identity.
    grants = FirestoreGrantStore(firestore_client, timeout_seconds=10)
    assert grants.read(identity) == Grant(identity, frozenset({"BU1", "BU2"}))

    assert orders_stores(stack, "revoke", identity, "BU1").returncode == 0
    listed = orders_stores(stack, "list", identity)
    assert listed.stdout == f"{identity}\tBU2\n"
    revoked = orders_stores(stack, "revoke", identity)
    assert revoked.stdout == f"{identity}: BU2 -> nothing\n"
    assert grants.read(identity) is None
    assert orders_stores(stack, "list", identity).stdout == ""

    query = firestore_client.collection(GRANT_CHANGES_COLLECTION).where(
        filter=FieldFilter("identity", "==", identity)
    )
    changes = [snapshot.to_dict() or {} for snapshot in query.stream()]
    assert sorted((c["command"], c["before"], c["after"]) for c in changes) == sorted(
        [
            (f"grant {identity} BU1 BU2", None, {"businessUnits": ["BU1", "BU2"], "allBusinessUnits": False}),
            (
                f"revoke {identity} BU1",
                {"businessUnits": ["BU1", "BU2"], "allBusinessUnits": False},
                {"businessUnits": ["BU2"], "allBusinessUnits": False},
            ),
            (f"revoke {identity}", {"businessUnits": ["BU2"], "allBusinessUnits": False}, None),
        ]
    )  # fmt: skip


def test_without_a_project_or_a_reachable_firestore_it_exits_2(stack: LocalStack) -> None:
    env = {key: value for key, value in os.environ.items() if key != "GOOGLE_CLOUD_PROJECT"}
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    no_project = subprocess.run(
        [sys.executable, "-m", "shared.tools.stores", "list"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_project.returncode == 2
    assert "--project" in no_project.stderr
