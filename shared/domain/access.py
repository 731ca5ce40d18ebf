"""Who calls, and which stores (business units) the call may touch.

The OMS's API serves one audience with one grant, the whole service; the POS's API
is called by stores, each holding the business units granted to its identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified identity and the business units it holds (``None``: all of them)."""

    identity: str
    business_units: frozenset[str] | None

    @classmethod
    def everything(cls, identity: str) -> Caller:
        return cls(identity, None)

    @property
    def holds_all(self) -> bool:
        return self.business_units is None

    def holds(self, business_unit_id: str) -> bool:
        return self.business_units is None or business_unit_id in self.business_units

    def holds_any(self, business_unit_ids: Iterable[str]) -> bool:
        return any(self.holds(business_unit_id) for business_unit_id in business_unit_ids)


def may_read_order(caller: Caller, business_unit_id: str, pickup_stores: Iterable[str]) -> bool:
    """Whether ``caller`` may read an order: it holds the order's business unit, or one of
    the stores its fulfillments are to be picked up at."""
    return caller.holds(business_unit_id) or caller.holds_any(pickup_stores)
