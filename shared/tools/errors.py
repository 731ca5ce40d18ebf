"""The tools' errors: each stops a command with one line and exit code 2 (or fails a build)."""

from __future__ import annotations

from shared.errors import CustomerOrderEventsError


class ToolError(CustomerOrderEventsError):
    """Base class of the errors the command-line tools report as one line."""


class DlqError(ToolError):
    """``orders-dlq`` cannot run as asked: bad input, an unknown order, or Pub/Sub unreachable."""


class NotReplayable(ToolError):
    """The processor would reject the dead letter again; it stays in the dead-letter queue."""


class SyncError(ToolError):
    """Base class of the errors ``orders-sync`` reports as one line, exit code 2."""


class UsageError(SyncError):
    """The command cannot run as asked: a missing file, an unreachable URL, a foreign checkpoint."""


class CredentialsError(SyncError):
    """No ID token could be obtained for the audience."""


class ServiceRefused(SyncError):
    """The service answered in a way no order can fix (401, 403, a wrong URL); stop sending."""


class WorkerCrashed(ToolError):
    """A worker's ``handle`` raised; the run was stopped and the cause is attached."""


class StackError(ToolError):
    """The local stack could not be started."""


class PackageError(ToolError):
    """The deploy package cannot be built from this tree."""
