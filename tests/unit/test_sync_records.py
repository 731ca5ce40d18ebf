"""Reading exports: NDJSON lines, folders of JSON files, bad records, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.tools.errors import UsageError
from shared.tools.sync.records import (
    BadRecord,
    OrderRecord,
    expand_inputs,
    parse_record,
    read_records,
    scan_inputs,
)
from shared.tools.sync.versions import VersionSource
from tests.support import order_body


def record_line(business_unit_id: object, customer_order_id: str, **changes: object) -> str:
    return json.dumps(
        {"businessUnitId": business_unit_id, **order_body(customer_order_id, **changes)}
    )


def test_an_ndjson_file_gives_one_record_per_non_blank_line(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(
        record_line("BU1", "CO-1") + "\n\n" + record_line("BU1", "CO-2") + "\r\n   \n"
    )
    inputs = scan_inputs(expand_inputs([str(export)]))

    records = list(read_records(inputs))

    assert inputs.record_count == 2
    assert [(r.seq, r.line) for r in records] == [(0, 1), (1, 3)]
    first = records[0]
    assert isinstance(first, OrderRecord)
    assert (first.business_unit_id, first.customer_order_id) == ("BU1", "CO-1")
    assert first.customer_order == order_body("CO-1")["customerOrder"]
    assert first.order_key == "BU1/CO-1"


def test_a_folder_gives_its_json_files_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "2.json").write_text(record_line("BU1", "CO-2"))
    (folder / "a.json").write_text(record_line("BU1", "CO-1"))
    (folder / "notes.txt").write_text("not an order")

    records = list(read_records(scan_inputs(expand_inputs([str(folder)]))))

    assert [(Path(r.source).name, r.line) for r in records] == [("a.json", 1), ("2.json", 1)]
    assert all(isinstance(r, OrderRecord) for r in records)


@pytest.mark.parametrize(
    ("line", "slug", "pointers"),
    [
        ("{not json", "malformed-json", []),
        ('{"a": 1, "a": 2}', "malformed-json", []),
        ("[1, 2]", "validation-failed", [""]),
        (
            '{"customerOrder": {"customerOrderId": "CO-1"}}',
            "validation-failed",
            ["/businessUnitId"],
        ),
        (
            '{"businessUnitId": 7, "customerOrder": {"customerOrderId": "CO-1"}}',
            "validation-failed",
            ["/businessUnitId"],
        ),
        ('{"businessUnitId": "BU1", "customerOrder": []}', "validation-failed", ["/customerOrder"]),
        (
            '{"businessUnitId": "BU1", "customerOrder": {"status": "NEW"}}',
            "validation-failed",
            ["/customerOrder/customerOrderId"],
        ),
        (
            '{"businessUnitId": "B/U", "customerOrder": {"customerOrderId": 5}}',
            "validation-failed",
            ["/businessUnitId", "/customerOrder/customerOrderId"],
        ),
    ],
)
def test_bad_lines_say_what_is_wrong_and_where(line: str, slug: str, pointers: list[str]) -> None:
    record = parse_record(line.encode() + b"\n", seq=4, source="export.ndjson", line=17)

    assert isinstance(record, BadRecord)
    assert record.where == "export.ndjson:17"
    assert record.raw == line.encode()
    assert record.problem["type"].endswith(slug)
    assert record.problem["detail"].startswith("line 17: ")
    assert [error["pointer"] for error in record.problem.get("errors", [])] == pointers


def test_the_schema_is_left_to_the_service(tmp_path: Path) -> None:
    record = parse_record(
        json.dumps(
            {"businessUnitId": "BU1", "customerOrder": {"customerOrderId": "CO-1"}}
        ).encode(),
        seq=0,
        source="x",
        line=1,
    )
    assert isinstance(record, OrderRecord)


def test_the_fingerprint_follows_the_content_and_the_order(tmp_path: Path) -> None:
    one, two = tmp_path / "1.ndjson", tmp_path / "2.ndjson"
    one.write_text(record_line("BU1", "CO-1") + "\n")
    two.write_text(record_line("BU1", "CO-2") + "\n")
    original = scan_inputs(expand_inputs([str(one), str(two)])).fingerprint

    assert scan_inputs(expand_inputs([str(one), str(two)])).fingerprint == original
    assert scan_inputs(expand_inputs([str(two), str(one)])).fingerprint != original
    two.write_text(record_line("BU1", "CO-2", status="CHANGED") + "\n")
    assert scan_inputs(expand_inputs([str(one), str(two)])).fingerprint != original


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "missing.ndjson"), "no such file or folder"),
        (lambda tmp: str(tmp), "holds no *.json files"),
    ],
)
def test_unusable_inputs_are_usage_errors(tmp_path: Path, make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(UsageError, match=message.replace("*", r"\*")):
        expand_inputs([make(tmp_path)])


def test_a_record_may_carry_its_source_version() -> None:
    versioned = json.dumps({**json.loads(record_line("BU1", "CO-1")), "sourceVersion": "17"})

    record = parse_record(versioned.encode(), seq=0, source="x", line=1)
    plain = parse_record(record_line("BU1", "CO-2").encode(), seq=1, source="x", line=2)

    assert isinstance(record, OrderRecord)
    assert record.source_version == 17
    # The version travels in a header; the order sent is the customerOrder alone.
    assert record.customer_order == order_body("CO-1")["customerOrder"]
    assert isinstance(plain, OrderRecord)
    assert plain.source_version is None


def test_a_version_pointer_reads_the_version_of_every_record(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(
        record_line("BU1", "CO-1", revision=4) + "\n"
        + record_line("BU1", "CO-2") + "\n"
        + record_line("BU1", "CO-3", revision=4.5) + "\n"
    )  # fmt: skip

    versions = VersionSource.from_pointer("/customerOrder/revision")
    first, missing, fractional = read_records(scan_inputs(expand_inputs([str(export)])), versions)

    assert isinstance(first, OrderRecord)
    assert first.source_version == 4
    for bad, line in ((missing, 2), (fractional, 3)):
        assert isinstance(bad, BadRecord)
        assert bad.problem["status"] == 422
        assert bad.problem["detail"] == (
            f"line {line}: no valid source version at /customerOrder/revision"
        )
        assert [error["pointer"] for error in bad.problem["errors"]] == ["/customerOrder/revision"]
    assert isinstance(missing, BadRecord)
    assert "is required" in missing.problem["errors"][0]["detail"]


def test_a_bad_source_version_member_is_a_bad_record() -> None:
    line = json.dumps({**json.loads(record_line("BU1", "CO-1")), "sourceVersion": -3})

    record = parse_record(line.encode(), seq=0, source="x", line=9)

    assert isinstance(record, BadRecord)
    assert record.problem["type"].endswith("validation-failed")
    assert record.problem["errors"][0]["pointer"] == "/sourceVersion"
    assert "not -3" in record.problem["errors"][0]["detail"]
