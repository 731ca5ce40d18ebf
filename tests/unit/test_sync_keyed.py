"""Worker threads that keep one key's items in order."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest

from shared.tools.errors import WorkerCrashed
from shared.tools.sync.keyed import KeyOrderedWorkers


def test_items_of_one_key_run_in_order_and_never_overlap() -> None:
    handled: dict[str, list[int]] = defaultdict(list)
    running: set[str] = set()
    overlaps: list[str] = []
    peak = [0]
    lock = threading.Lock()

    def handle(item: tuple[str, int]) -> None:
        key, number = item
        with lock:
            if key in running:
                overlaps.append(key)
            running.add(key)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.001)
        with lock:
            running.discard(key)
            handled[key].append(number)

    with KeyOrderedWorkers(handle, concurrency=6, stop=threading.Event()) as workers:
        for number in range(300):
            key = f"K{number % 17}"
            workers.submit(key, (key, number))

    assert overlaps == []
    assert peak[0] > 1
    assert sum(len(numbers) for numbers in handled.values()) == 300
    assert all(numbers == sorted(numbers) for numbers in handled.values())


def test_stop_drops_what_is_queued() -> None:
    stop = threading.Event()
    handled: list[int] = []

    def handle(item: int) -> None:
        handled.append(item)
        if item == 3:
            stop.set()

    with KeyOrderedWorkers(handle, concurrency=1, stop=stop, queue_depth=100) as workers:
        for item in range(50):
            workers.submit("k", item)
        assert stop.wait(5)
        assert workers.submit("k", 50) is False

    assert handled == [0, 1, 2, 3]


def test_an_error_in_handle_stops_the_run_and_surfaces() -> None:
    stop = threading.Event()

    def handle(item: int) -> None:
        if item == 2:
            raise RuntimeError("bug")

    workers = KeyOrderedWorkers(handle, concurrency=2, stop=stop).__enter__()
    for item in range(10):
        workers.submit(str(item), item)
    with pytest.raises(WorkerCrashed) as raised:
        workers.close()

    assert stop.is_set()
    assert isinstance(raised.value.__cause__, RuntimeError)
