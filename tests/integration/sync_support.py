"""Helpers of the orders-sync integration tests: exports, the console script, Firestore."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.domain.addresses import collection_path
from tests.support import order_body

if TYPE_CHECKING:
    from google.cloud import firestore

ORDERS_SYNC = str(Path(sys.executable).parent / "orders-sync")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float

    def counts(self) -> dict[str, int]:
        """The summary's rows, e.g. ``{"accepted": 2000, "rejected": 0, ...}``."""
        return {
            name: int(count)
            for name, count in re.findall(r"^  (\w+) +(\d+)", self.out, re.MULTILINE)
        }


def export_line(business_unit_id: str, customer_order_id: str, **changes: Any) -> str:
    return json.dumps(
        {"businessUnitId": business_unit_id, **order_body(customer_order_id, **changes)}
    )


def versioned_export_line(
    business_unit_id: str, customer_order_id: str, version: int, **changes: Any
) -> str:
    """An export record carrying the OMS's version of the order in ``sourceVersion``."""
    record = json.loads(export_line(business_unit_id, customer_order_id, **changes))
    return json.dumps({**record, "sourceVersion": version})


def write_export(path: Path, business_unit_id: str, count: int) -> list[str]:
    """``count`` distinct orders, one per line; their ids in file order."""
    ids = [f"CO-{n:05d}" for n in range(count)]
    path.write_text(
        "".join(export_line(business_unit_id, order_id, note=f"n{n}") + "\n"
                for n, order_id in enumerate(ids))
    )  # fmt: skip
    return ids


def orders_sync(*argv: str, timeout: float = 180) -> Run:
    import time

    started = time.monotonic()
    result = subprocess.run(
        [ORDERS_SYNC, *argv, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def stored_orders(client: firestore.Client, business_unit_id: str) -> dict[str, dict[str, Any]]:
    """Every customer order Firestore holds for the business unit, by id."""
    collection = client.collection(collection_path(business_unit_id))
    return {
        snapshot.id: json.loads((snapshot.to_dict() or {})["body"])["customerOrder"]
        for snapshot in collection.stream()
    }


def checkpoint_events(path: Path, event: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries = []
    for raw in path.read_text().splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # the last line, still being written
        if entry.get("event") == event:
            entries.append(entry)
    return entries


def expected_orders(business_unit_id: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    lines = (json.loads(export_line(business_unit_id, i, note=f"n{n}")) for n, i in enumerate(ids))
    return {entry["customerOrder"]["customerOrderId"]: entry["customerOrder"] for entry in lines}
