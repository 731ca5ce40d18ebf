"""The dead-letter subscription, read without consuming it.

Pub/Sub cannot browse a subscription, so :meth:`PubSubDeadLetterQueue.scan`
pulls every message and holds its lease until the scan is complete (a
released message would come straight back and the scan would never end).
Whatever the command does not acknowledge is handed back unchanged with
``modify_ack_deadline(0)`` when the queue is closed. While held, leases are
renewed by a background thread, so a slow confirmation prompt or a long
replay cannot let them lapse. If the tool dies, Pub/Sub redelivers the held
messages once their lease runs out; nothing is lost.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from google.api_core import exceptions
from google.api_core.retry import Retry
from google.auth.exceptions import GoogleAuthError
from google.cloud.pubsub_v1 import SubscriberClient

from shared.adapters.pubsub import is_retryable
from shared.config import DEFAULT_STORE_UPDATES_SUBSCRIPTION
from shared.errors import one_line
from shared.tools.dlq.operations import Leased
from shared.tools.dlq.records import parse_dead_letter
from shared.tools.errors import DlqError

T = TypeVar("T")

# The emulator answers at most 100 per pull; real Pub/Sub up to 1000.
PULL_BATCH = 1000
# Ack ids per acknowledge/modify request, well under the 512 kB request limit.
ACK_BATCH = 1000
SETTLE_POLL_SECONDS = 0.1
MIN_LEASE_SECONDS = 60
MAX_LEASE_SECONDS = 600


def lease_seconds_for(timeout: float) -> int:
    """Long enough to outlive a few bounded calls between two renewals."""
    return int(min(MAX_LEASE_SECONDS, max(MIN_LEASE_SECONDS, 4 * timeout)))


class PubSubDeadLetterQueue:
    def __init__(
        self,
        subscriber: SubscriberClient,
        subscription: str,
        *,
        where: str,
        timeout: float,
        settle: float,
        lease_seconds: int | None = None,
        store_updates_subscription: str = DEFAULT_STORE_UPDATES_SUBSCRIPTION,
    ) -> None:
        self._subscriber = subscriber
        self._subscription = subscription
        self._store_updates_subscription = store_updates_subscription
        self._where = where
        self._timeout = timeout
        self._settle = settle
        self._lease = lease_seconds or lease_seconds_for(timeout)
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._keeper = threading.Thread(target=self._keep_leases, name="dlq-leases", daemon=True)

    def __enter__(self) -> PubSubDeadLetterQueue:
        self._keeper.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._keeper.join(timeout=self._timeout)
        with self._lock:
            remaining = list(self._held)
        # Best effort: a lease that cannot be released runs out by itself.
        with contextlib.suppress(DlqError):
            self.release(remaining)

    def scan(self) -> list[Leased]:
        """Every message of the subscription, leased; done once no new one came for ``settle`` s."""
        found: dict[str, Leased] = {}
        quiet_since = time.monotonic()
        while True:
            received = self._pull()
            if received:
                self._hold([item.ack_id for item in received])
                for item in received:
                    found[item.message.message_id] = Leased(
                        item.ack_id, _dead_letter(item, self._store_updates_subscription)
                    )
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= self._settle:
                return list(found.values())
            else:
                time.sleep(SETTLE_POLL_SECONDS)

    def acknowledge(self, ack_ids: Sequence[str]) -> None:
        for start in range(0, len(ack_ids), ACK_BATCH):
            batch = list(ack_ids[start : start + ACK_BATCH])
            self._call(
                "acknowledge messages of",
                functools.partial(
                    self._subscriber.acknowledge,
                    request={"subscription": self._subscription, "ack_ids": batch},
                    timeout=self._timeout,
                    retry=self._retry(),
                ),
            )
            self._forget(batch)

    def release(self, ack_ids: Sequence[str]) -> None:
        self._modify(ack_ids, 0)
        self._forget(ack_ids)

    def _pull(self) -> Sequence[Any]:
        def pull() -> Sequence[Any]:
            # return_immediately is deprecated because it may answer empty while
            # messages exist; the settle period covers that, and a blocking pull
            # would wait out its whole deadline on an empty queue.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                response = self._subscriber.pull(
                    request={
                        "subscription": self._subscription,
                        "max_messages": PULL_BATCH,
                        "return_immediately": True,
                    },
                    timeout=self._timeout,
                    retry=self._retry(),
                )
            return list(response.received_messages)

        return self._call("pull from", pull)

    def _hold(self, ack_ids: Sequence[str]) -> None:
        self._modify(ack_ids, self._lease)
        expires = time.monotonic() + self._lease
        with self._lock:
            self._held.update(dict.fromkeys(ack_ids, expires))

    def _renew(self, ack_ids: Sequence[str]) -> None:
        self._modify(ack_ids, self._lease)
        expires = time.monotonic() + self._lease
        with self._lock:
            # Only what is still held: the command may have acknowledged some meanwhile.
            for ack_id in ack_ids:
                if ack_id in self._held:
                    self._held[ack_id] = expires

    def _forget(self, ack_ids: Sequence[str]) -> None:
        with self._lock:
            for ack_id in ack_ids:
                self._held.pop(ack_id, None)

    def _modify(self, ack_ids: Sequence[str], seconds: int) -> None:
        for start in range(0, len(ack_ids), ACK_BATCH):
            batch = list(ack_ids[start : start + ACK_BATCH])
            self._call(
                "lease messages of" if seconds else "release messages of",
                functools.partial(
                    self._subscriber.modify_ack_deadline,
                    request={
                        "subscription": self._subscription,
                        "ack_ids": batch,
                        "ack_deadline_seconds": seconds,
                    },
                    timeout=self._timeout,
                    retry=self._retry(),
                ),
            )

    def _keep_leases(self) -> None:
        while not self._stopped.wait(self._lease / 4):
            with self._lock:
                due_by = time.monotonic() + self._lease / 2
                due = [ack_id for ack_id, expires in self._held.items() if expires < due_by]
            if not due:
                continue
            try:
                self._renew(due)
            except DlqError:
                # Retried at the next tick; if the lease lapses meanwhile the
                # message is redelivered, which can duplicate but never lose it.
                continue

    def _retry(self) -> Retry:
        return Retry(
            predicate=is_retryable,
            initial=0.1,
            maximum=1.0,
            timeout=self._timeout,
        )

    def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except exceptions.NotFound:
            raise DlqError(
                f"subscription {self._subscription} does not exist in {self._where}"
            ) from None
        except exceptions.PermissionDenied as exc:
            raise DlqError(
                f"permission denied to {action} {self._subscription}: {one_line(exc, named=False)}"
            ) from None
        except (
            exceptions.RetryError,
            exceptions.DeadlineExceeded,
            exceptions.ServiceUnavailable,
        ) as exc:
            raise DlqError(
                f"{self._where} did not answer within {self._timeout:g} s "
                f"({one_line(exc, limit=200, named=False)})"
            ) from None
        except (exceptions.GoogleAPICallError, GoogleAuthError) as exc:
            raise DlqError(
                f"could not {action} {self._subscription}: {one_line(exc, named=False)}"
            ) from None


def _dead_letter(received: Any, store_updates_subscription: str) -> Any:
    message = received.message
    return parse_dead_letter(
        message_id=message.message_id,
        published_at=message.publish_time,
        data=bytes(message.data),
        attributes=dict(message.attributes),
        ordering_key=message.ordering_key,
        store_updates_subscription=store_updates_subscription,
    )
