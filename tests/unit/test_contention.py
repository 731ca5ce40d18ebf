"""Which Firestore errors mean another writer got there first, and are worth a new read."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from shared.adapters.firestore import lost_race


def _error(kind: type[exceptions.GoogleAPICallError], message: str) -> Exception:
    error: Exception = kind(message)
    return error


@pytest.mark.parametrize(
    "error",
    [
        _error(exceptions.AlreadyExists, "the document was created meanwhile"),
        _error(exceptions.FailedPrecondition, "the stored version does not match"),
    ],
)
def test_a_failed_precondition_is_a_lost_race(error: Exception) -> None:
    assert lost_race(error)


@pytest.mark.parametrize(
    "error",
    [
        _error(exceptions.ServiceUnavailable, "down"),
        _error(exceptions.InvalidArgument, "too large"),
        _error(exceptions.PermissionDenied, "no"),
    ],
)
def test_other_failures_are_not_races(error: Exception) -> None:
    assert not lost_race(error)
    assert not lost_race(ValueError("plain"))
