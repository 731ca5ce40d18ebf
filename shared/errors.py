"""Exceptions of the domain; adapters translate them to HTTP answers or Pub/Sub nacks."""

from __future__ import annotations


class CustomerOrderEventsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(CustomerOrderEventsError):
    """The environment does not describe a usable deployment."""


class InvalidId(CustomerOrderEventsError, ValueError):
    """An id breaks the Firestore document-id rules this service enforces."""


class UndecodableMessage(CustomerOrderEventsError):
    """A Pub/Sub message that can never be processed; it must end in the dead-letter topic."""


class PublishFailed(CustomerOrderEventsError):
    """Pub/Sub did not confirm a publish in time; the caller may retry."""


class StoreUnavailable(CustomerOrderEventsError):
    """Firestore could not be reached or did not answer in time; the caller may retry."""
