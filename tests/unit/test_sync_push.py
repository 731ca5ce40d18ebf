"""The push run against a fake ingest API: resume, versions, doubt, rejects, refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from shared.tools.sync.checkpoint import Checkpoint
from shared.tools.sync.client import OrdersClient
from shared.tools.sync.in_doubt import InDoubtResolver
from shared.tools.sync.push import Push, PushSummary
from shared.tools.sync.records import OrderRecord, expand_inputs, read_records, scan_inputs
from shared.tools.sync.rejects import RejectsFile
from shared.tools.sync.retrying import RetryPolicy
from tests.support import order_body
from tests.unit.sync_fakes import Answer, ScriptedServer, SeenRequest, problem


class FakeIngest:
    """Stores what it accepts, like the real API; ``refuse`` decides a problem per order.

    Like the processor, it keeps a lower ``Source-Version`` (or none) from replacing a
    higher one: such a PUT is answered 202 and stored nowhere.
    """

    def __init__(self, refuse: Callable[[dict[str, Any]], Answer | None] = lambda _: None):
        self.refuse = refuse
        # order id -> {"order": ..., "at": receivedAt, "version": Source-Version or None}
        self.stored: dict[str, dict[str, Any]] = {}
        self.puts: list[tuple[str, str]] = []
        self.heads = 0
        self._lock = threading.Lock()
        self._clock = 0

    def __call__(self, request: SeenRequest) -> Answer:
        order_id = request.path.rsplit("/", 1)[1]
        with self._lock:
            if request.method in ("GET", "HEAD"):
                if request.method == "HEAD":
                    self.heads += 1
                if order_id not in self.stored:
                    return problem(404, "not-found")
                entry = self.stored[order_id]
                headers = {"Received-At": entry["at"]}
                if entry.get("version") is not None:
                    headers["Source-Version"] = str(entry["version"])
                return Answer(200, {"customerOrder": entry["order"]}, headers=headers)
            order = json.loads(request.body)["customerOrder"]
            refusal = self.refuse(order)
            if refusal is not None:
                return refusal
            self._clock += 1
            at = f"2026-11-29T10:00:00.{self._clock:06d}Z"
            header = request.headers.get("Source-Version")
            version = None if header is None else int(header)
            self.puts.append((order_id, order["status"]))
            if rank(version) >= rank(self.stored.get(order_id, {}).get("version")):
                self.stored[order_id] = {"order": order, "at": at, "version": version}
            return Answer(202, {"messageId": str(self._clock), "receivedAt": at})


def rank(version: int | None) -> int:
    return -1 if version is None else version


def line(customer_order_id: str, **changes: Any) -> str:
    return json.dumps({"businessUnitId": "BU1", **order_body(customer_order_id, **changes)})


def versioned_line(customer_order_id: str, version: int, **changes: Any) -> str:
    record = {"businessUnitId": "BU1", **order_body(customer_order_id, **changes)}
    return json.dumps({**record, "sourceVersion": version})


def run_push(
    url: str,
    export: Path,
    tmp_path: Path,
    *,
    stop: threading.Event | None = None,
    check_versions: bool = True,
) -> tuple[PushSummary, list[dict[str, Any]]]:
    inputs = scan_inputs(expand_inputs([str(export)]))
    stop = stop or threading.Event()
    rejects_path = tmp_path / "rejects.ndjson"
    with (
        OrdersClient(url, retry=RetryPolicy(0.01, 0.02, deadline=0.3)) as client,
        Checkpoint.open(tmp_path / "cp", inputs=inputs.fingerprint, url=url) as checkpoint,
        RejectsFile(rejects_path) as rejects,
        tqdm(disable=True) as bar,
    ):
        resolver = InDoubtResolver(client, stop=stop, grace_seconds=0.2, poll_seconds=0.05)
        summary = Push(
            client, checkpoint, rejects, bar, stop=stop,
            record_count=inputs.record_count, resolver=resolver, check_versions=check_versions,
        ).run(read_records(inputs))  # fmt: skip
    lines = rejects_path.read_text().splitlines() if rejects_path.exists() else []
    return summary, [json.loads(entry) for entry in lines]


def test_a_rerun_sends_only_what_was_not_accepted(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(line(f"CO-{n}") + "\n" for n in range(20)))
    broken = {"CO-3", "CO-4"}
    service = FakeIngest(lambda o: problem(503) if o["customerOrderId"] in broken else None)

    with ScriptedServer(service) as server:
        first, rejects = run_push(server.url, export, tmp_path)
        broken.clear()
        second, _ = run_push(server.url, export, tmp_path)

    assert (first.accepted, first.failed, first.sent) == (18, 2, 20)
    assert [(r["line"], r["outcome"]) for r in sorted(rejects, key=lambda r: r["line"])] == [
        (4, "failed"),
        (5, "failed"),
    ]
    assert (second.skipped, second.sent, second.accepted, second.failed) == (18, 2, 2, 0)
    assert second.ok
    assert sorted(order_id for order_id, _ in service.puts) == sorted(f"CO-{n}" for n in range(20))


def test_bad_lines_and_rejected_orders_go_to_the_rejects_file(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(
        "\n".join([line("CO-1"), "{oops", line("CO-2", status=""), '{"businessUnitId": "BU1"}', ""])
    )
    service = FakeIngest(
        lambda o: problem(422, detail="1 field(s) do not match") if o["status"] == "" else None
    )

    with ScriptedServer(service) as server:
        summary, rejects = run_push(server.url, export, tmp_path)

    assert (summary.accepted, summary.rejected, summary.bad) == (1, 1, 2)
    assert not summary.ok
    by_line = {entry["line"]: entry for entry in rejects}
    assert sorted(by_line) == [2, 3, 4]
    assert by_line[2]["record"] == "{oops"
    assert by_line[2]["problem"]["type"].endswith("malformed-json")
    assert by_line[3]["status"] == 422
    assert by_line[3]["problem"]["detail"] == "1 field(s) do not match"
    assert by_line[4]["problem"]["errors"][0]["pointer"] == "/customerOrder"


def test_versions_of_one_order_are_sent_in_file_order(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(line(f"CO-{n % 5}", status=f"v{n // 5}") + "\n" for n in range(40)))

    with ScriptedServer(FakeIngest()) as server:
        service = server.script
        assert isinstance(service, FakeIngest)
        run_push(server.url, export, tmp_path)

    for n in range(5):
        assert [status for order_id, status in service.puts if order_id == f"CO-{n}"] == [
            f"v{v}" for v in range(8)
        ]
        assert service.stored[f"CO-{n}"]["order"]["status"] == "v7"


def test_an_older_line_is_not_resent_over_a_newer_accepted_one(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(line("CO-1", status="old") + "\n" + line("CO-1", status="new") + "\n")
    failing = {"old"}
    service = FakeIngest(lambda o: problem(503) if o["status"] in failing else None)

    with ScriptedServer(service) as server:
        first, _ = run_push(server.url, export, tmp_path)
        failing.clear()
        second, _ = run_push(server.url, export, tmp_path)

    assert (first.accepted, first.failed) == (1, 1)
    assert (second.superseded, second.sent, second.skipped) == (1, 0, 1)
    assert service.stored["CO-1"]["order"]["status"] == "new"


def test_records_in_doubt_are_read_back_and_only_the_missing_resent(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(line(f"CO-{n}") + "\n" for n in range(4)))
    service = FakeIngest()

    with ScriptedServer(service) as server:
        inputs = scan_inputs(expand_inputs([str(export)]))
        records = [r for r in read_records(inputs) if isinstance(r, OrderRecord)]
        # A killed run: CO-0 accepted; CO-1 and CO-2 in flight, of which only CO-1 arrived.
        with Checkpoint.open(
            tmp_path / "cp", inputs=inputs.fingerprint, url=server.url
        ) as checkpoint:
            for record in records[:3]:
                checkpoint.sending(record)
            checkpoint.accepted(records[0], message_id="1", received_at=stamp(1))
        service.stored["CO-0"] = {"order": records[0].customer_order, "at": stamp(1)}
        service.stored["CO-1"] = {"order": records[1].customer_order, "at": stamp(2)}

        summary, _ = run_push(server.url, export, tmp_path)

    assert (summary.skipped, summary.recovered, summary.sent, summary.accepted) == (1, 1, 2, 2)
    assert sorted(order_id for order_id, _ in service.puts) == ["CO-2", "CO-3"]


def stamp(microseconds: int) -> str:
    return f"2026-11-29T10:00:00.{microseconds:06d}Z"


def test_a_refusal_stops_the_run(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(line(f"CO-{n}") + "\n" for n in range(50)))
    service = FakeIngest(lambda o: problem(403, "not-found", detail="forbidden"))

    with ScriptedServer(service) as server:
        summary, _ = run_push(server.url, export, tmp_path)
        requests_seen = len(server.requests)

    assert summary.refusal is not None
    assert "HTTP 403" in summary.refusal
    assert requests_seen < 50
    assert not summary.ok


def test_a_stop_leaves_the_rest_for_the_next_run(tmp_path: Path) -> None:
    count = 30
    export = tmp_path / "export.ndjson"
    export.write_text("".join(line(f"CO-{n}") + "\n" for n in range(count)))
    stop = threading.Event()
    service = FakeIngest()

    def stop_after_ten(order: dict[str, Any]) -> Answer | None:
        if len(service.puts) >= 10:
            stop.set()
        return None

    service.refuse = stop_after_ten
    with ScriptedServer(service) as server:
        first, _ = run_push(server.url, export, tmp_path, stop=stop)
        second, _ = run_push(server.url, export, tmp_path)

    assert first.stopped
    assert first.left > 0
    assert first.accepted + second.accepted == count
    assert second.skipped == first.accepted
    assert len(service.puts) == count


def stored_at(service: FakeIngest, customer_order_id: str, version: int | None) -> None:
    """An order a live update stored, with other content than any export line."""
    order = order_body(customer_order_id, status="LIVE")["customerOrder"]
    service.stored[customer_order_id] = {"order": order, "at": stamp(999), "version": version}


def test_versioned_records_the_store_holds_already_or_newer_are_not_sent(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(
        versioned_line("CO-older", 3) + "\n"
        + versioned_line("CO-equal", 5) + "\n"
        + versioned_line("CO-newer", 4) + "\n"
        + versioned_line("CO-unversioned-in-store", 1) + "\n"
        + versioned_line("CO-new", 1) + "\n"
    )  # fmt: skip
    service = FakeIngest()
    stored_at(service, "CO-older", 5)
    stored_at(service, "CO-equal", 5)
    stored_at(service, "CO-newer", 2)
    stored_at(service, "CO-unversioned-in-store", None)

    with ScriptedServer(service) as server:
        first, _ = run_push(server.url, export, tmp_path)
        first_requests = [(r.method, r.path.rsplit("/", 1)[1]) for r in server.requests]
        second, _ = run_push(server.url, export, tmp_path)
        put_headers = {
            r.path.rsplit("/", 1)[1]: r.headers.get("Source-Version")
            for r in server.requests
            if r.method == "PUT"
        }

    assert (first.newer, first.sent, first.accepted, first.ok) == (2, 3, 3, True)
    assert sorted(order_id for order_id, _ in service.puts) == [
        "CO-new", "CO-newer", "CO-unversioned-in-store",
    ]  # fmt: skip
    assert put_headers == {"CO-newer": "4", "CO-unversioned-in-store": "1", "CO-new": "1"}
    assert sum(method == "HEAD" for method, _ in first_requests) == 5
    assert service.stored["CO-older"]["order"]["status"] == "LIVE"
    assert service.stored["CO-equal"]["order"]["status"] == "LIVE"
    # Done is done: the records found newer in the store are not looked at again.
    assert (second.skipped, second.sent, second.newer) == (5, 0, 0)
    assert service.heads == 5


def test_without_the_version_check_the_service_alone_keeps_the_higher_version(
    tmp_path: Path,
) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(versioned_line("CO-1", 3) + "\n")
    service = FakeIngest()
    stored_at(service, "CO-1", 5)

    with ScriptedServer(service) as server:
        summary, _ = run_push(server.url, export, tmp_path, check_versions=False)
        (request,) = server.requests

    assert (request.method, request.headers["Source-Version"]) == ("PUT", "3")
    # Accepted at the door and skipped by the processor: the summary cannot tell.
    assert (summary.accepted, summary.newer) == (1, 0)
    assert service.stored["CO-1"]["order"]["status"] == "LIVE"


def test_unversioned_records_are_put_without_asking_the_store(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(line("CO-1") + "\n")
    service = FakeIngest()
    stored_at(service, "CO-1", 5)

    with ScriptedServer(service) as server:
        summary, _ = run_push(server.url, export, tmp_path)
        (request,) = server.requests

    assert request.method == "PUT"
    assert "Source-Version" not in request.headers
    assert (summary.accepted, summary.newer) == (1, 0)


def test_a_store_that_cannot_tell_its_version_fails_the_record_unsent(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(versioned_line("CO-1", 3) + "\n")
    service = FakeIngest()

    def head_unavailable(request: SeenRequest) -> Answer:
        return problem(503, "store-unavailable") if request.method == "HEAD" else service(request)

    with ScriptedServer(head_unavailable) as server:
        first, rejects = run_push(server.url, export, tmp_path)
        server.script = service
        second, _ = run_push(server.url, export, tmp_path)

    assert (first.failed, first.sent) == (1, 0)
    assert [entry["outcome"] for entry in rejects] == ["failed"]
    assert "HTTP 503" in rejects[0]["problem"]["detail"]
    assert (second.accepted, second.ok) == (1, True)
    # One PUT in all: the first run sent nothing it could not check.
    assert [order_id for order_id, _ in service.puts] == ["CO-1"]


def test_a_record_in_doubt_whose_order_is_stored_newer_is_settled_unsent(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(versioned_line("CO-1", 3) + "\n")
    service = FakeIngest()

    with ScriptedServer(service) as server:
        inputs = scan_inputs(expand_inputs([str(export)]))
        (record,) = read_records(inputs)
        assert isinstance(record, OrderRecord)
        # A killed run had CO-1 in flight; a live update stored version 5 since.
        with Checkpoint.open(
            tmp_path / "cp", inputs=inputs.fingerprint, url=server.url
        ) as checkpoint:
            checkpoint.sending(record)
        stored_at(service, "CO-1", 5)

        summary, _ = run_push(server.url, export, tmp_path)

    assert (summary.newer, summary.recovered, summary.sent, summary.ok) == (1, 0, 0, True)
    assert service.puts == []
