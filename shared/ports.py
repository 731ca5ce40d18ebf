"""The ports of the application: publishing orders and events, and storing and reading orders.

Each has a Google adapter (:mod:`shared.adapters.pubsub`, :mod:`shared.adapters.firestore`)
and an in-memory one for unit tests (:mod:`shared.adapters.memory`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from shared.domain.events import OrderEvent
from shared.domain.grants import Grant, GrantChange
from shared.domain.messages import PublishedMessage
from shared.domain.search import SearchCriteria, SearchPosition
from shared.domain.store_updates import RecordedUpdate
from shared.domain.stored_order import (
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
)


class OrderPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: PublishedMessage) -> str:
        """Publish and wait for the confirmation; the message id, or :class:`PublishFailed`."""


class EventPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, event: OrderEvent) -> str:
        """Publish to the events topic and wait for the confirmation, as :class:`OrderPublisher`."""


class OrderReader(abc.ABC):
    """What the APIs read: one order, and the search.

    Every call raises :class:`StoreUnavailable` when it may work later.
    """

    @abc.abstractmethod
    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        """The whole stored order, or ``None``."""

    @abc.abstractmethod
    def search(
        self,
        business_unit_id: str,
        criteria: SearchCriteria,
        *,
        limit: int,
        after: SearchPosition | None,
    ) -> list[OrderSummary]:
        """Up to ``limit`` of the business unit's orders that match ``criteria``, newest first.

        Newest by ``receivedAt``, then by descending document name (business unit, then
        order id); only orders that stand after ``after`` (the last order of the previous
        page) in that order. Criteria across business units (fulfillment states) find the
        orders of every business unit, each summary naming its own.
        """


class OrderStore(OrderReader):
    """Reads and conditional writes of one document per order.

    Every call raises :class:`StoreUnavailable` when it may work later; a write
    :class:`StoreRefused` when it never will.
    """

    @abc.abstractmethod
    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        """The stored version of an order (a few fields, never the body), or ``None``."""

    @abc.abstractmethod
    def read_for_update(
        self, business_unit_id: str, customer_order_id: str, update_id: str
    ) -> tuple[StoredOrder | None, RecordedUpdate | None]:
        """The whole stored order and its store update ``update_id`` if recorded, in one read."""

    @abc.abstractmethod
    def write(
        self,
        record: OrderRecord,
        *,
        replacing: Revision | None,
        fields: Sequence[str],
        update: RecordedUpdate | None = None,
    ) -> None:
        """Write ``fields`` of ``record`` to the order's document, on a condition.

        Only those fields: a stored field outside them, known to this release or not,
        stays as it is. With ``update``, that store update's document is created in the
        same commit (all or nothing). ``replacing=None``: only if no order document
        exists; otherwise only if the document is still at that revision.
        :class:`LostRace` when the condition fails, or the update exists already.
        """


class IdTokenVerifier(abc.ABC):
    @abc.abstractmethod
    def verify(self, token: str) -> str:
        """The verified identity (the token's email) of an ID token.

        :class:`InvalidToken` when the token proves nothing (its signature, issuer,
        audience, expiry or email do not hold); :class:`KeysUnavailable` when the keys
        that would tell could not be fetched.
        """


class GrantStore(abc.ABC):
    """The grants of the POS identities (shared/domain/grants.py), one document each.

    Every call raises :class:`StoreUnavailable` when it may work later.
    """

    @abc.abstractmethod
    def read(self, identity: str) -> Grant | None:
        """The identity's grant, or ``None`` when it holds nothing."""

    @abc.abstractmethod
    def change(
        self,
        identity: str,
        decide: Callable[[Grant | None], Grant | None],
        *,
        operator: str,
        command: str,
    ) -> GrantChange:
        """Replace the identity's grant by ``decide(current)`` atomically, keeping the change.

        ``decide`` returning ``None`` removes the grant. A change that changes nothing is
        neither written nor kept.
        """

    @abc.abstractmethod
    def list(self) -> list[Grant]:
        """Every grant, by identity."""
