"""Errors of the sync tools that stop a command before or while it runs."""

from __future__ import annotations


class SyncError(Exception):
    """Base class of the errors the ``orders-sync`` command reports as one line, exit code 2."""


class UsageError(SyncError):
    """The command cannot run as asked: a missing file, an unreachable URL, a foreign checkpoint."""


class CredentialsError(SyncError):
    """No ID token could be obtained for the audience."""


class ServiceRefused(SyncError):
    """The service answered in a way no order can fix (401, 403, a wrong URL); stop sending."""
