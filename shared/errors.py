"""Every error this project raises on purpose, under one base class.

The runtime's errors are here; the tools' own live in :mod:`shared.tools.errors`
and derive from the same base. Adapters translate them: the ingest function
into problem+json answers, the processor into Pub/Sub nacks, the tools into
one line and exit code 2.
"""

from __future__ import annotations

ONE_LINE_LIMIT = 300


class CustomerOrderEventsError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigurationError(CustomerOrderEventsError):
    """The environment does not describe a usable deployment."""


class InvalidId(CustomerOrderEventsError, ValueError):
    """An id breaks the rules that make it a Firestore document id and a Pub/Sub ordering key."""


class MalformedJson(CustomerOrderEventsError, ValueError):
    """The bytes are not one strict JSON document."""


class InvalidSourceVersion(CustomerOrderEventsError, ValueError):
    """A ``Source-Version`` that is not a decimal integer from 0 to 2^63 - 1."""


class InvalidCorrelationId(CustomerOrderEventsError, ValueError):
    """A ``Correlation-Id`` that cannot travel as an attribute and a log field."""


class InvalidPageToken(CustomerOrderEventsError, ValueError):
    """A search page token that this service did not issue for this query."""


class BodyTooLarge(CustomerOrderEventsError):
    """A request body exceeds the size the API accepts."""


class UndecodableMessage(CustomerOrderEventsError):
    """A Pub/Sub message that can never be processed; it must end in the dead-letter topic."""


class PublishFailed(CustomerOrderEventsError):
    """Pub/Sub did not confirm a publish in time; the caller may retry."""


class StoreUnavailable(CustomerOrderEventsError):
    """Firestore could not be reached or did not answer in time; the caller may retry."""


class StoreRefused(CustomerOrderEventsError):
    """Firestore refused the write for good: no redelivery can store this message as it is."""


def one_line(exc: BaseException, *, limit: int = ONE_LINE_LIMIT, named: bool = True) -> str:
    """``Type: message`` (or the message alone) on one bounded line, for a log or a terminal."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    line = name
    if text and text != name:
        line = f"{name}: {text}" if named else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


class LostRace(CustomerOrderEventsError):
    """Someone wrote the document since it was read: read it again and decide again."""


class InvalidToken(CustomerOrderEventsError):
    """An ID token that proves no identity: its signature, issuer, audience, expiry or email."""


class KeysUnavailable(CustomerOrderEventsError):
    """The keys that verify ID tokens could not be fetched; the caller may retry."""
