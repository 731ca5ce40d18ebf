from __future__ import annotations

import pytest
from google.api_core import exceptions

from shared.adapters.firestore import is_contention


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


def test_keyed_locks_let_one_holder_per_key_and_forget_idle_keys() -> None:
    import threading
    import time

    from shared.adapters.firestore import KeyedLocks

    locks = KeyedLocks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    guard = threading.Lock()

    def work(key: str) -> None:
        with locks.hold(key):
            with guard:
                inside[key] += 1
                most[key] = max(most[key], inside[key])
            time.sleep(0.002)
            with guard:
                inside[key] -= 1

    threads = [threading.Thread(target=work, args=("ab"[n % 2],)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == {"a": 1, "b": 1}
    assert len(locks) == 0
