"""What the fault tests and the soak run share: an own stack, a ledger of what was sent and
accepted, and the comparison of that ledger with what Firestore holds."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from shared.domain.addresses import document_path, order_location
from shared.domain.timestamps import parse_timestamp
from shared.tools.devstack import LocalStack, StackConfig
from tests.support import order_body

if TYPE_CHECKING:
    from google.cloud import firestore


@contextlib.contextmanager
def own_stack(log_dir: Path, **overrides: Any) -> Iterator[LocalStack]:
    """A whole stack of the caller's own on free ports: its faults touch nobody else's."""
    config = StackConfig.on_free_ports(log_dir=log_dir, **overrides)
    with LocalStack(config) as stack:
        yield stack


def firestore_client_for(config: StackConfig) -> firestore.Client:
    """A client of ``config``'s emulator, whatever emulator the process environment names."""
    from google.cloud import firestore

    # The client takes the emulator host from the environment once, when it is built.
    saved = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = config.firestore_host
    try:
        return firestore.Client(project=config.project_id)
    finally:
        if saved is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = saved


@dataclass(frozen=True)
class Sent:
    business_unit_id: str
    customer_order_id: str
    version: int
    status: int
    # Set for a 202: the version the processor will compare.
    received_at: datetime | None


@dataclass
class Ledger:
    """Every PUT and its answer, safe to fill from many threads."""

    entries: list[Sent] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: Sent) -> None:
        with self._lock:
            self.entries.append(entry)

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def sent(self) -> int:
        return len(self.entries) + sum(self.errors.values())

    def by_status(self) -> dict[int, int]:
        with self._lock:
            counts: dict[int, int] = {}
            for entry in self.entries:
                counts[entry.status] = counts.get(entry.status, 0) + 1
            return counts

    def accepted(self) -> list[Sent]:
        with self._lock:
            return [entry for entry in self.entries if entry.status == 202]

    def newest_accepted(self) -> dict[tuple[str, str], Sent]:
        """Per order, the accepted version with the greatest ``receivedAt``: what must be stored."""
        newest: dict[tuple[str, str], Sent] = {}
        for entry in self.accepted():
            key = (entry.business_unit_id, entry.customer_order_id)
            current = newest.get(key)
            if current is None or _version_of(current) < _version_of(entry):
                newest[key] = entry
        return newest


def _version_of(entry: Sent) -> datetime:
    assert entry.received_at is not None, "only a 202 has a version"
    return entry.received_at


def version_body(customer_order_id: str, version: int) -> dict[str, Any]:
    return order_body(customer_order_id, status=f"V{version}")


def put_version(
    session: requests.Session,
    base_url: str,
    business_unit_id: str,
    customer_order_id: str,
    version: int,
    ledger: Ledger,
    *,
    timeout: float = 30.0,
) -> Sent | None:
    url = base_url + order_location(business_unit_id, customer_order_id)
    try:
        response = session.put(url, json=version_body(customer_order_id, version), timeout=timeout)
    except requests.RequestException as exc:
        ledger.error(type(exc).__name__)
        return None
    received_at = None
    if response.status_code == 202:
        received_at = parse_timestamp(response.json()["receivedAt"])
    entry = Sent(business_unit_id, customer_order_id, version, response.status_code, received_at)
    ledger.add(entry)
    return entry


def stored_versions(
    client: firestore.Client, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[datetime, str]]:
    """``receivedAt`` and ``status`` of each stored order among ``keys``, in batched reads."""
    from google.api_core import exceptions

    keys = list(keys)
    found: dict[tuple[str, str], tuple[datetime, str]] = {}
    for start in range(0, len(keys), 300):
        batch = keys[start : start + 300]
        references = [client.document(document_path(*key)) for key in batch]
        try:
            snapshots = list(client.get_all(references, timeout=20))
        except (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded):
            continue
        for snapshot in snapshots:
            if not snapshot.exists:
                continue
            fields = snapshot.to_dict() or {}
            key = (snapshot.reference.parent.parent.id, snapshot.id)
            found[key] = (fields["receivedAt"], fields["status"])
    return found


def missing_or_stale(
    client: firestore.Client, expected: dict[tuple[str, str], Sent]
) -> dict[tuple[str, str], str]:
    """The orders whose stored version is not (yet) the expected one, and what is stored."""
    stored = stored_versions(client, expected)
    wrong: dict[tuple[str, str], str] = {}
    for key, entry in expected.items():
        have = stored.get(key)
        want = (entry.received_at, f"V{entry.version}")
        if have is None:
            wrong[key] = "nothing stored"
        elif have != want:
            wrong[key] = f"stored {have}, expected {want}"
    return wrong


def wait_until_stored(
    client: firestore.Client, expected: dict[tuple[str, str], Sent], *, timeout: float
) -> dict[tuple[str, str], str]:
    """Poll until every order holds its expected version; what is still wrong at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        wrong = missing_or_stale(client, expected)
        if not wrong or time.monotonic() > deadline:
            return wrong
        time.sleep(0.5)
