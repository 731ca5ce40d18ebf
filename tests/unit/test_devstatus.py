"""make dev's status line, counted from lines the functions' text handler really formats."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from shared.log import OrderIdsFilter, get_logger, log_event, order_context, text_handler
from shared.tools.devstatus import (
    FAILED_DECISIONS,
    SKIPPED_DECISIONS,
    Status,
    StatusBoard,
    StatusCounter,
    fields,
)


@pytest.fixture
def lines() -> Iterator[tuple[io.StringIO, logging.Logger, logging.Logger]]:
    stream = io.StringIO()
    handler = text_handler(stream)
    handler.addFilter(OrderIdsFilter())
    loggers = (get_logger("ingest"), get_logger("processor"))
    root = logging.getLogger("customer_order_events")
    previous = (root.level, root.propagate)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        yield stream, *loggers
    finally:
        root.removeHandler(handler)
        root.setLevel(previous[0])
        root.propagate = previous[1]


def logged(
    lines: tuple[io.StringIO, logging.Logger, logging.Logger],
    events: list[tuple[str, dict[str, object]]],
) -> list[str]:
    stream, ingest, processor = lines
    for logger_name, event in events:
        logger = ingest if logger_name == "ingest" else processor
        # The message may say anything, even what looks like a field: only the fields count.
        with order_context(businessUnitId="BU1", customerOrderId="CO-1"):
            log_event(
                logger, logging.INFO, "message event=put outcome=refused decision=stale", **event
            )
    return stream.getvalue().splitlines()


def test_the_counter_reads_the_fields_the_functions_append(
    lines: tuple[io.StringIO, logging.Logger, logging.Logger],
) -> None:
    written = logged(
        lines,
        [
            ("ingest", {"event": "put", "outcome": "accepted", "httpStatus": 202}),
            ("ingest", {"event": "put", "outcome": "accepted", "httpStatus": 202}),
            ("ingest", {"event": "put", "outcome": "refused", "problemType": "invalid-id", "httpStatus": 400}),
            ("ingest", {"event": "put", "outcome": "unavailable", "httpStatus": 503}),
            ("ingest", {"event": "put", "outcome": "failed", "httpStatus": 500}),
            ("ingest", {"event": "get", "outcome": "refused", "httpStatus": 404}),
            ("processor", {"event": "process", "decision": "stored", "rule": "first", "lagSeconds": 0.2}),
            ("processor", {"event": "process", "decision": "duplicate", "rule": "receivedAt"}),
            ("processor", {"event": "process", "decision": "unavailable"}),
            ("processor", {"event": "process", "decision": "undecodable"}),
            ("processor", {"event": "publish", "eventType": "customer-order.created"}),
            ("webhook", {"event": "webhook", "outcome": "delivered"}),
            ("webhook", {"event": "webhook", "outcome": "failed"}),
            ("pos", {"event": "ready", "outcome": "recorded", "httpStatus": 200}),
            ("pos", {"event": "pickup", "outcome": "recorded", "httpStatus": 200}),
            ("pos", {"event": "pickup", "outcome": "repeated", "httpStatus": 200}),
            ("pos", {"event": "ready", "outcome": "refused", "problemType": "order-cancelled"}),
            ("pos", {"event": "pickup", "outcome": "refused", "problemType": "already-picked-up"}),
            ("pos", {"event": "pickup", "outcome": "unavailable", "httpStatus": 503}),
            ("processor", {"event": "process", "decision": "conflict", "rule": "pickup"}),
            ("processor", {"event": "process", "decision": "duplicate", "change": "ready"}),
            ("processor", {"event": "process", "decision": "superseded", "change": "pickup"}),
        ],
    )  # fmt: skip
    counter = StatusCounter()
    for line in [*written, "Traceback (most recent call last):", "[INFO] Booting worker"]:
        counter.feed(line)
    assert counter.status() == Status(
        accepted=2,
        refused=1,
        unavailable=1,
        failed_puts=1,
        stored=1,
        # The duplicate, the conflict, the store update's own message (the pos function
        # wrote it) and the one the order changed under.
        skipped=4,
        failed_deliveries=2,
        published=1,
        delivered=1,
        ready=1,
        picked_up=1,
        repeated_updates=1,
        refused_updates=2,
        conflicts=1,
    )
    assert counter.status().line() == (
        "status: PUT 2 accepted, 1 refused, 1 503, 1 500 | orders 1 stored, 4 skipped, "
        "2 failed | backlog 0 | events 1 published, 1 delivered | store updates 1 ready, "
        "1 pickup, 1 repeated, 2 refused | conflicts 1"
    )


def test_every_decision_of_the_processor_is_counted_stored_skipped_or_failed() -> None:
    from shared.processor import DECISIONS, NOT_RECORDED

    decisions = {*DECISIONS.values(), NOT_RECORDED}
    assert decisions - {"stored"} == set(SKIPPED_DECISIONS)
    assert not FAILED_DECISIONS & decisions


def test_only_the_projects_loggers_lines_count() -> None:
    assert fields("2026-01-01 00:00:00,000 INFO werkzeug event=put outcome=accepted") == {}
    assert fields(
        "2026-01-01 00:00:00,000 INFO customer_order_events.ingest accepted x "
        "correlationId=c event=put outcome=accepted httpStatus=202"
    ) == {"event": "put", "outcome": "accepted"}


def test_the_backlog_is_what_was_accepted_and_not_yet_stored_or_skipped() -> None:
    assert Status(accepted=5, stored=2, skipped=1).backlog == 2
    # Orders published around ingest (a replay) never make it negative.
    assert Status(accepted=1, stored=3).backlog == 0
    # Each recorded store update published a message the processor decides too; a repeat
    # published none.
    assert Status(accepted=2, ready=1, picked_up=1, repeated_updates=3, stored=2).backlog == 2


def test_the_board_echoes_every_line_and_prints_the_status_only_when_it_changed() -> None:
    out = io.BytesIO()
    board = StatusBoard(out, every_seconds=0)
    assert board.print_if_changed() is False
    line = b"t INFO customer_order_events.ingest accepted event=put outcome=accepted\n"
    board.function_line("ingest", line)
    assert board.print_if_changed() is True
    assert board.print_if_changed() is False
    board.function_line("ingest", b"\xff not utf-8\n")
    assert out.getvalue().splitlines() == [
        line.rstrip(),
        b"status: PUT 1 accepted, 0 refused, 0 503, 0 500 | orders 0 stored, 0 skipped, "
        b"0 failed | backlog 1 | events 0 published, 0 delivered | store updates 0 ready, "
        b"0 pickup, 0 repeated, 0 refused | conflicts 0",
        b"\xff not utf-8",
    ]
