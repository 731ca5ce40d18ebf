"""The JSON nesting limit: refused past it at every door, and read at it by every later parse.

Each later parse runs with most of the interpreter's stack already used, as a parse
deep in a request or a tool would: a body the door accepts must parse wherever it is
read again (issue 29). The same on the emulators: tests/integration/test_nesting_limit.py.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from shared.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryOrderPublisher,
    InMemoryOrderStore,
)
from shared.api.oms import oms_api
from shared.api.pos import pos_api
from shared.domain.addresses import order_location, pickup_location, search_location
from shared.domain.conflict import Statuses
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.jsonbody import parse_accepted_json
from shared.domain.limits import MAX_JSON_NESTING
from shared.domain.messages import Source
from shared.domain.order_view import SpelledJson
from shared.domain.search_fields import search_fields_of_body
from shared.errors import MalformedJson
from shared.processor import Processor
from shared.tools.dlq import render
from shared.tools.sync.records import BadRecord, OrderRecord, parse_record
from tests.dlq.samples import NOW, dead_letter
from tests.support import order_body, order_message, problem_of, push_data

T = TypeVar("T")
BU, ORDER = "BU1", "CO-deep"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
# Frames left to a whole operation (a processor's delivery, a tool's rendering) run
# with the rest of the stack used: its own calls, then the parse's levels.
FRAMES_LEFT = MAX_JSON_NESTING + 150


def nested_value(levels: int) -> Any:
    """``levels`` arrays within each other around a string."""
    value: Any = "innermost"
    for _ in range(levels):
        value = [value]
    return value


def deep_body(depth: int, customer_order_id: str = ORDER) -> dict[str, Any]:
    """The sample order, nested ``depth`` deep by a member of its own (the schema keeps it)."""
    body = order_body(customer_order_id)
    # The body's object and customerOrder are two levels; the member's arrays the rest.
    body["customerOrder"]["deep"] = nested_value(depth - 2)
    return body


def depth_of(raw: bytes) -> int:
    opened = deepest = 0
    for character in raw.decode().replace('"innermost"', ""):
        if character in "[{":
            opened += 1
            deepest = max(deepest, opened)
        elif character in "]}":
            opened -= 1
    return deepest


def with_stack_used(call: Callable[[], T], frames_left: int = FRAMES_LEFT) -> T:
    """``call()`` with all but ``frames_left`` frames of the recursion limit in use."""
    frames, frame = 0, sys._getframe()
    while frame.f_back is not None:
        frames, frame = frames + 1, frame.f_back

    def descend(more: int) -> T:
        return descend(more - 1) if more > 0 else call()

    return descend(sys.getrecursionlimit() - frames - frames_left)


def request(method: str, path: str, raw: bytes | None) -> HttpRequest:
    return HttpRequest(
        method,
        path,
        None if raw is None else "application/json",
        None if raw is None else len(raw),
        None if raw is None else io.BytesIO(raw),
    )


def too_deep(response: HttpResponse) -> None:
    document = problem_of(response)
    assert document["status"] == 400
    assert document["type"].endswith(":malformed-json")
    assert f"deeper than the {MAX_JSON_NESTING} levels" in document["detail"]


@pytest.mark.parametrize("depth", [MAX_JSON_NESTING + 1, 950, 100_000])
def test_a_put_deeper_than_the_limit_is_400_naming_it_and_nothing_is_published(
    depth: int,
) -> None:
    publisher = InMemoryOrderPublisher()
    service = oms_api(publisher, InMemoryOrderStore(), retry_after_seconds=1)
    raw = json.dumps(deep_body(min(depth, 900))).encode()
    if depth > 900:
        # Past what json.dumps writes: the brackets by hand.
        raw = raw.replace(b'"innermost"', b"[" * depth + b"]" * depth)
    too_deep(service.handle(request("PUT", order_location(BU, ORDER), raw)))
    assert publisher.published == []


def test_search_and_pickup_bodies_deeper_than_the_limit_are_400_naming_it() -> None:
    store = InMemoryOrderStore()
    pos = pos_api(InMemoryOrderPublisher(), store, statuses=Statuses(), retry_after_seconds=1)
    criteria = {"customerId": "C-1", "x": nested_value(MAX_JSON_NESTING)}
    too_deep(pos.handle(request("POST", search_location(BU), json.dumps(criteria).encode())))
    pickup = json.dumps({"x": nested_value(MAX_JSON_NESTING)}).encode()
    too_deep(pos.handle(request("POST", pickup_location(BU, ORDER), pickup)))


def test_an_order_at_the_limit_is_accepted_stored_announced_picked_up_and_read_back() -> None:
    topic, store, events = InMemoryOrderPublisher(), InMemoryOrderStore(), InMemoryEventPublisher()
    statuses = Statuses()
    oms = oms_api(topic, store, retry_after_seconds=1)
    pos = pos_api(topic, store, statuses=statuses, retry_after_seconds=1)
    processor = Processor(store, events, statuses=statuses)
    raw = json.dumps(deep_body(MAX_JSON_NESTING)).encode()
    assert depth_of(raw) == MAX_JSON_NESTING

    answer = oms.handle(request("PUT", order_location(BU, ORDER), raw))
    assert answer.status == 202, answer.body
    [message] = topic.orders
    with_stack_used(lambda: processor.process(push_data(message), "m-1"))

    stored = store.get(BU, ORDER)
    assert stored is not None
    assert stored.body == raw
    assert stored.search_fields.item_ids == ("7310865004703", "7310865071231")
    assert [event.data for event in events.published] == [raw]
    got = oms.handle(request("GET", order_location(BU, ORDER), None))
    assert (got.status, got.body) == (200, raw)

    picked = with_stack_used(lambda: pos.handle(request("POST", pickup_location(BU, ORDER), None)))
    assert picked.status == 200, picked.body
    assert depth_of(picked.body) == MAX_JSON_NESTING
    assert json.loads(picked.body)["customerOrder"]["deep"] == nested_value(MAX_JSON_NESTING - 2)
    [update] = topic.store_updates
    with_stack_used(lambda: processor.process(push_data(update), "m-2", Source.STORE_UPDATES))
    assert json.loads(events.published[-1].data)["customerOrder"]["deep"] == nested_value(
        MAX_JSON_NESTING - 2
    )


def test_an_accepted_body_parses_again_with_all_but_its_levels_of_the_stack_used() -> None:
    raw = json.dumps(deep_body(MAX_JSON_NESTING)).encode()
    frames_left = MAX_JSON_NESTING + 20
    assert with_stack_used(lambda: parse_accepted_json(raw), frames_left) == json.loads(raw)
    # Where a body of twice the depth fails: the stack is really used up to there.
    deeper = json.dumps(deep_body(2 * MAX_JSON_NESTING)).encode()
    with pytest.raises(MalformedJson, match="deeper than this parse can go"):
        with_stack_used(lambda: parse_accepted_json(deeper), frames_left)


def test_the_search_fields_and_the_order_view_are_read_at_the_limit_with_the_stack_used() -> None:
    raw = json.dumps(deep_body(MAX_JSON_NESTING)).encode()
    frames_left = MAX_JSON_NESTING + 30
    fields = with_stack_used(lambda: search_fields_of_body(raw), frames_left)
    assert fields.item_ids == ("7310865004703", "7310865071231")
    spelled = SpelledJson()
    shown = with_stack_used(lambda: spelled.dump(spelled.parse(raw)), frames_left)
    assert json.loads(shown) == json.loads(raw)


def test_a_dead_letter_at_the_limit_is_shown_whole() -> None:
    letter = dead_letter(order_message(BU, ORDER, T0, body=deep_body(MAX_JSON_NESTING)))
    raw = letter.data
    assert depth_of(raw) == MAX_JSON_NESTING
    lines = with_stack_used(lambda: render.detail_lines(letter, NOW))
    assert lines[lines.index("body:") + 1] == json.dumps(
        json.loads(raw), indent=2, ensure_ascii=False
    )
    detail = with_stack_used(lambda: json.dumps(render.detail_json(letter, NOW), indent=2))
    assert json.loads(detail)["body"] == json.loads(raw)


def test_a_dead_letter_deeper_than_any_parse_is_shown_as_base64() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    letter = dead_letter(data=data)
    assert letter.body() is None
    assert "dataBase64" in render.detail_json(letter, NOW)


def test_an_export_record_at_the_limit_is_read_and_one_level_deeper_is_refused_naming_it() -> None:
    record = {"businessUnitId": BU, **deep_body(MAX_JSON_NESTING)}
    read = parse_record(json.dumps(record).encode(), seq=0, source="export.ndjson", line=1)
    assert isinstance(read, OrderRecord)
    assert read.customer_order["deep"] == nested_value(MAX_JSON_NESTING - 2)

    record["customerOrder"]["deep"] = nested_value(MAX_JSON_NESTING - 1)
    bad = parse_record(json.dumps(record).encode(), seq=1, source="export.ndjson", line=2)
    assert isinstance(bad, BadRecord)
    assert bad.problem["status"] == 400
    assert f"deeper than the {MAX_JSON_NESTING} levels" in bad.problem["detail"]
