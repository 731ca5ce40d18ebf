"""The rejects file of a push: each record that was not accepted, and why.

NDJSON, one object per record: ``source``, ``line``, ``outcome`` (``rejected``:
fix the record; ``failed``: the service could not be reached, run again),
``status``, ``problem`` (the service's problem document, or one made here for a
bad line in the same format) and ``record`` (the line as it was in the file).
Written anew by every run: a rerun sends every record not yet accepted again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Any

REJECTED = "rejected"
FAILED = "failed"


class RejectsFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(
        self,
        *,
        source: str,
        line: int,
        outcome: str,
        status: int | None,
        problem: dict[str, Any],
        raw: bytes,
    ) -> None:
        entry = {
            "source": source,
            "line": line,
            "outcome": outcome,
            "status": status,
            "problem": problem,
            "record": raw.decode("utf-8", "replace"),
        }
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("w", encoding="utf-8")
            self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._handle.flush()
            self.count += 1

    def close(self) -> None:
        """Close it; a run with nothing to report leaves no file (and removes an old one)."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            elif self.path.exists():
                self.path.unlink()
