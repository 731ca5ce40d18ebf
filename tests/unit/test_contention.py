from __future__ import annotations

import pytest
from google.api_core import exceptions

from shared.firestore_store import is_contention


def _error(kind: type[Exception], message: str) -> Exception:
    return kind(message)


def _raised_inside(outer: Exception, inner: Exception, *, as_cause: bool) -> Exception:
    try:
        try:
            raise inner
        except Exception as caught:
            if as_cause:
                raise outer from caught
            raise outer  # noqa: B904 - the context is what is being tested
    except Exception as result:  # noqa: BLE001
        return result
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "abort", [_error(exceptions.Aborted, "lock timeout"), _error(exceptions.Conflict, "409")]
)
def test_aborts_are_contention_however_they_surface(abort: Exception) -> None:
    assert is_contention(abort)
    commit_failed = _raised_inside(ValueError("Failed to commit"), abort, as_cause=True)
    assert is_contention(commit_failed)
    rollback_failed = _raised_inside(ValueError("no transaction ID"), abort, as_cause=False)
    assert is_contention(rollback_failed)


def test_other_failures_are_not_retried_as_contention() -> None:
    assert not is_contention(_error(exceptions.ServiceUnavailable, "down"))
    assert not is_contention(ValueError("plain"))
    unavailable = _raised_inside(
        ValueError("no transaction ID"),
        _error(exceptions.ServiceUnavailable, "down"),
        as_cause=False,
    )
    assert not is_contention(unavailable)
