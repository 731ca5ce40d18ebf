"""The push checkpoint: what a rerun skips, what it settles, what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.tools.errors import UsageError
from shared.tools.sync.checkpoint import Checkpoint, LineState, default_checkpoint_path
from shared.tools.sync.in_doubt import Watermark
from shared.tools.sync.records import OrderRecord

URL = "http://127.0.0.1:9"


def record(seq: int, customer_order_id: str = "CO-1") -> OrderRecord:
    return OrderRecord(
        seq=seq,
        source="export.ndjson",
        line=seq + 1,
        business_unit_id="BU1",
        customer_order_id=customer_order_id,
        customer_order={"customerOrderId": customer_order_id},
        digest=f"digest-{seq}",
        raw=b"{}",
    )


def reopen(path: Path, inputs: str = "inputs-1", **options: bool) -> Checkpoint:
    return Checkpoint.open(path, inputs=inputs, url=URL, **options)


def test_states_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    with reopen(path) as checkpoint:
        checkpoint.sending(record(0))
        checkpoint.accepted(record(0), message_id="m0", received_at="2026-11-29T10:00:00.000001Z")
        checkpoint.sending(record(1, "CO-2"))
        checkpoint.sending(record(2, "CO-3"))
        checkpoint.rejected(record(2, "CO-3"), status=422)
        checkpoint.sending(record(3, "CO-4"))
        checkpoint.failed(record(3, "CO-4"), reason="HTTP 503")

    with reopen(path) as checkpoint:
        states = [checkpoint.state(record(seq)) for seq in range(5)]
        assert checkpoint.accepted_count == 1
        assert checkpoint.watermark() == Watermark("BU1", "CO-1", "2026-11-29T10:00:00.000001Z")

    assert states == [
        LineState.ACCEPTED,
        LineState.IN_DOUBT,
        LineState.REJECTED,
        LineState.FAILED,
        LineState.NEW,
    ]


def test_entries_name_the_record_for_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    with reopen(path) as checkpoint:
        checkpoint.accepted(record(4), message_id="m4", received_at="t")

    header, entry = (json.loads(line) for line in path.read_text().splitlines())
    assert header["inputs"] == "inputs-1"
    assert header["url"] == URL
    assert entry["event"] == "accepted"
    assert {k: entry[k] for k in ("seq", "source", "line", "sha256", "messageId")} == {
        "seq": 4,
        "source": "export.ndjson",
        "line": 5,
        "sha256": "digest-4",
        "messageId": "m4",
    }


def test_an_accepted_record_stays_accepted(tmp_path: Path) -> None:
    with reopen(tmp_path / "cp") as checkpoint:
        checkpoint.accepted(record(0), message_id="m", received_at="t")
        checkpoint.sending(record(0))
        assert checkpoint.state(record(0)) is LineState.ACCEPTED


def test_an_earlier_line_of_an_accepted_order_is_superseded(tmp_path: Path) -> None:
    with reopen(tmp_path / "cp") as checkpoint:
        checkpoint.accepted(record(5, "CO-1"), message_id="m", received_at="t")

        assert checkpoint.superseded(record(2, "CO-1"))
        assert not checkpoint.superseded(record(7, "CO-1"))
        assert not checkpoint.superseded(record(2, "CO-2"))


def test_a_line_torn_by_a_crash_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    with reopen(path) as checkpoint:
        checkpoint.accepted(record(0), message_id="m", received_at="t")
    with path.open("ab") as handle:
        handle.write(b'{"event":"accepted","seq":1,"busin')

    with reopen(path) as checkpoint:
        assert checkpoint.state(record(1)) is LineState.NEW
        checkpoint.accepted(record(1), message_id="m", received_at="t")
    with reopen(path) as checkpoint:
        assert checkpoint.accepted_count == 2


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    with reopen(path) as checkpoint:
        checkpoint.accepted(record(0), message_id="m", received_at="t")
    path.write_bytes(path.read_bytes() + b"garbage\n")

    with pytest.raises(UsageError, match=r"cp:3 is not a checkpoint entry"):
        reopen(path)


def test_other_inputs_or_another_url_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    reopen(path).close()

    with pytest.raises(UsageError, match="belongs to other input"):
        reopen(path, inputs="inputs-2")
    with pytest.raises(UsageError, match="records a push to"):
        Checkpoint.open(path, inputs="inputs-1", url="https://elsewhere.example")


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_text('{"businessUnitId": "BU1"}\n')

    with pytest.raises(UsageError, match="not an orders-sync checkpoint"):
        reopen(path)


def test_two_runs_cannot_share_a_checkpoint(tmp_path: Path) -> None:
    with reopen(tmp_path / "cp"), pytest.raises(UsageError, match="in use by another"):
        reopen(tmp_path / "cp")


def test_resend_forgets_what_was_accepted(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    with reopen(path) as checkpoint:
        checkpoint.accepted(record(0), message_id="m", received_at="t")

    with reopen(path, restart=True) as checkpoint:
        assert checkpoint.state(record(0)) is LineState.NEW
        assert checkpoint.accepted_count == 0
    # Resuming a --resend run needs no --resend: the restart is on file.
    with reopen(path) as checkpoint:
        assert checkpoint.state(record(0)) is LineState.NEW


def test_the_default_path_differs_per_inputs_and_url(tmp_path: Path) -> None:
    paths = {
        default_checkpoint_path(tmp_path, inputs, url)
        for inputs in ("a", "b")
        for url in ("http://x", "http://y")
    }
    assert len(paths) == 4
    assert default_checkpoint_path(tmp_path, "a", "http://x") in paths
