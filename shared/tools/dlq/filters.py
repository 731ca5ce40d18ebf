"""Which dead letters a command acts on: --order, --business-unit, --older-than, --limit.

Pure functions; the command line turns their ``ValueError`` into a one-line usage error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from shared.tools.dlq.records import DeadLetter, OrderRef

_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

T = TypeVar("T")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1h30m``; raises :class:`ValueError` on anything else."""
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        raise ValueError(
            f"duration {text!r} is not a number with a unit s, m, h or d (e.g. 30m, 2h, 1d)"
        )
    return timedelta(
        seconds=sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(compact))
    )


@dataclass(frozen=True, slots=True)
class Selection:
    orders: frozenset[OrderRef] = frozenset()
    business_unit_id: str | None = None
    older_than: timedelta | None = None
    limit: int | None = None

    @property
    def narrows(self) -> bool:
        """Whether any filter other than ``limit`` is set."""
        return bool(self.orders) or self.business_unit_id is not None or self.older_than is not None

    def matches(self, letter: DeadLetter, now: datetime) -> bool:
        if self.orders and letter.order not in self.orders:
            return False
        if self.business_unit_id is not None and letter.business_unit_id != self.business_unit_id:
            return False
        return self.older_than is None or letter.age(now) > self.older_than


def select(
    items: Iterable[T],
    selection: Selection,
    now: datetime,
    *,
    letter_of: Callable[[T], DeadLetter],
) -> list[T]:
    """The matching items, longest in the dead-letter queue first, at most ``limit``.

    Oldest first so that ``--limit`` works through the backlog in the order it
    built up, and versions of one order are replayed in the order they failed.
    """
    chosen = sorted(
        (item for item in items if selection.matches(letter_of(item), now)),
        key=lambda item: (letter_of(item).dead_lettered_at, letter_of(item).message_id),
    )
    return chosen if selection.limit is None else chosen[: selection.limit]


def unmatched_orders(letters: Sequence[DeadLetter], selection: Selection) -> list[OrderRef]:
    """Orders named with ``--order`` that no dead letter belongs to (before the other filters)."""
    present = {letter.order for letter in letters}
    return sorted(order for order in selection.orders if order not in present)
