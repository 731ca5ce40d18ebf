"""The conflict rule: the newest ``receivedAt`` wins, and nothing ever moves it backwards."""

from __future__ import annotations

import enum
from datetime import datetime


class Decision(enum.Enum):
    WRITE = "write"
    SKIP_DUPLICATE = "skip-duplicate"
    SKIP_STALE = "skip-stale"

    @property
    def writes(self) -> bool:
        return self is Decision.WRITE


def decide(incoming: datetime, stored: datetime | None) -> Decision:
    """Write only when there is nothing stored or the incoming version is strictly newer."""
    if stored is None or incoming > stored:
        return Decision.WRITE
    if incoming == stored:
        return Decision.SKIP_DUPLICATE
    return Decision.SKIP_STALE
