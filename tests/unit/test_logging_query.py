"""The Logging-query subset that tests/integration/test_log_metrics.py judges the metrics with."""

from __future__ import annotations

import pytest

from tests.logging_query import (
    cloud_run_entry,
    extract,
    extract_value,
    matches,
    request_log_entry,
)

LINE = (
    '{"businessUnitId": "BU1", "event": "process", "decision": "stored", "lagSeconds": 0.5,'
    ' "message": "stored", "severity": "INFO",'
    ' "logging.googleapis.com/labels": {"python_logger": "customer_order_events.processor"},'
    ' "httpRequest": {}}'
)


def test_a_structured_line_becomes_the_entry_the_agent_writes() -> None:
    entry = cloud_run_entry(LINE, "svc")
    assert entry["labels"] == {"python_logger": "customer_order_events.processor"}
    assert entry["severity"] == "INFO"
    assert "httpRequest" not in entry
    assert entry["jsonPayload"]["decision"] == "stored"
    assert "severity" not in entry["jsonPayload"]
    assert matches('labels.python_logger="customer_order_events.processor"', entry)
    assert matches('resource.labels.service_name="svc" AND jsonPayload.lagSeconds<1', entry)


def test_or_binds_tighter_than_and_as_in_cloud_logging() -> None:
    entry = cloud_run_entry(LINE, "svc")
    # (true OR false) AND false: false; with AND binding tighter it would be true.
    assert not matches('jsonPayload.event="process" OR severity="x" AND severity="y"', entry)
    assert matches('NOT jsonPayload.event="x" AND NOT (severity="x" OR severity="y")', entry)


def test_log_id_and_numeric_comparisons_on_the_request_log() -> None:
    entry = request_log_entry("svc", "PUT", 503)
    assert matches('log_id("run.googleapis.com/requests") AND httpRequest.status>=500', entry)
    assert not matches('log_id("run.googleapis.com/stderr")', entry)
    assert not matches("httpRequest.status<500", entry)
    assert extract("EXTRACT(httpRequest.status)", entry) == "503"


def test_a_missing_field_matches_no_comparison() -> None:
    entry = request_log_entry("svc", "PUT", 202)
    assert not matches('jsonPayload.event="put"', entry)
    assert not matches('jsonPayload.event!="put"', entry)
    assert matches('NOT jsonPayload.event="put"', entry)


def test_extractors_yield_the_empty_value_when_they_fail() -> None:
    entry = cloud_run_entry(LINE, "svc")
    assert extract("EXTRACT(jsonPayload.rule)", entry) == ""
    assert extract('REGEXP_EXTRACT(jsonPayload.businessUnitId, "^(BU1|BU2)$")', entry) == "BU1"
    assert extract('REGEXP_EXTRACT(jsonPayload.businessUnitId, "^(BU2)$")', entry) == ""
    assert extract_value("EXTRACT(jsonPayload.lagSeconds)", entry) == 0.5
    assert extract_value("EXTRACT(jsonPayload.decision)", entry) is None


@pytest.mark.parametrize(
    "text",
    [
        'jsonPayload.event="put" jsonPayload.outcome="accepted"',  # implicit AND
        'jsonPayload.event:"put"',
        'jsonPayload.event="put" AND (severity="INFO"',
        "timestamp>=2026-01-01",
    ],
)
def test_anything_outside_the_subset_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        matches(text, request_log_entry("svc", "PUT", 202))
