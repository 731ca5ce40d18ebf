"""The orders-sync command line: exit codes, one-line errors, summaries."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared.tools.devstack import free_ports
from shared.tools.sync.cli import main
from shared.tools.sync.client import order_bytes
from tests.support import order_body
from tests.unit.sync_fakes import Answer, ScriptedServer, SeenRequest, problem, sequence
from tests.unit.test_sync_push import FakeIngest, line, versioned_line


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.ndjson"
    path.write_text("".join(line(f"CO-{n}") + "\n" for n in range(5)))
    return path


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def counts(summary: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r"^  (\w+) +(\d+)", summary, re.MULTILINE)}


def test_push_then_verify(export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(FakeIngest()) as server:
        pushed = run(
            "push", str(export), "--url", server.url, "--state-dir", str(tmp_path / "state"),
            "--no-progress", capsys=capsys,
        )  # fmt: skip
        verified = run("verify", str(export), "--url", server.url, "--no-progress", capsys=capsys)

    code, out, _ = pushed
    assert code == 0
    assert counts(out) == {
        "accepted": 5, "rejected": 0, "failed": 0, "sent": 5, "skipped": 0,
        "superseded": 0, "recovered": 0, "left": 0,
    }  # fmt: skip
    assert re.search(r"rejects +none", out)
    code, out, _ = verified
    assert code == 0
    assert counts(out)["matches"] == 5


def test_push_exits_1_and_names_the_rejects_file_when_a_line_is_bad(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export.write_text(export.read_text() + "not json\n")
    rejects = tmp_path / "rejects.ndjson"
    with ScriptedServer(FakeIngest()) as server:
        code, out, _ = run(
            "push", str(export), "--url", server.url, "--rejects", str(rejects),
            "--checkpoint", str(tmp_path / "cp"), "--no-progress", capsys=capsys,
        )  # fmt: skip

    assert code == 1
    assert counts(out)["rejected"] == 1
    assert f"rejects     {rejects}" in out
    (entry,) = [json.loads(text) for text in rejects.read_text().splitlines()]
    assert (entry["line"], entry["record"]) == (6, "not json")


def test_verify_reports_missing_and_different_orders(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = FakeIngest()
    for n in range(3):
        service.stored[f"CO-{n}"] = {"order": order_body(f"CO-{n}")["customerOrder"], "at": "t"}
    service.stored["CO-2"]["order"]["status"] = "SHIPPED"

    with ScriptedServer(service) as server:
        code, out, _ = run(
            "verify", str(export), "--url", server.url, "--settle", "0", "--no-progress",
            capsys=capsys,
        )  # fmt: skip

    assert code == 1
    assert re.search(r"^differs +BU1/CO-2 .*first difference at /status$", out, re.MULTILINE)
    assert sorted(re.findall(r"^missing +BU1/(CO-\d)", out, re.MULTILINE)) == ["CO-3", "CO-4"]
    assert (counts(out)["matches"], counts(out)["missing"], counts(out)["differs"]) == (2, 2, 1)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(404, "<html>", content_type="text/html"), "does not answer like the ingest API"),
        (problem(401, "not-found"), "refused the request with HTTP 401; pass --audience"),
    ],
)
def test_a_wrong_service_is_a_usage_error(
    export: Path, answer: Answer, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(sequence(answer)) as server:
        code, out, err = run("push", str(export), "--url", server.url, capsys=capsys)

    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_an_unreachable_url_is_a_usage_error(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    code, _, err = run("push", str(export), "--url", url, capsys=capsys)

    assert code == 2
    assert err.strip() == f"orders-sync: error: cannot reach {url}: [Errno 111] Connection refused"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["push", "missing.ndjson"], "orders-sync: error: missing.ndjson: no such file or folder"),
        (["push", "x", "--url", "ftp://host"], "orders-sync: error: --url 'ftp://host' is not"),
        (["push", "x", "--concurrency", "0"], "--concurrency: must be at least 1"),
        (["verify", "x", "--rate", "fast"], "--rate: 'fast' is not a number"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_text(line("CO-1") + "\n")
    try:
        code, _, err = run(*argv, capsys=capsys)
    except SystemExit as exit_:
        code, err = int(str(exit_.code)), capsys.readouterr().err

    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_the_console_script_is_installed_and_reports_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "orders-sync"
    result = subprocess.run(
        [str(script), "push", str(tmp_path / "nothing.ndjson")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.strip().endswith("nothing.ndjson: no such file or folder")
    assert "Traceback" not in result.stderr


def test_orders_stored_at_a_higher_version_are_newer_not_different(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(
        "".join(versioned_line(f"CO-{n}", 3, status=f"EXPORTED-{n}") + "\n" for n in range(4))
    )
    service = FakeIngest()
    for n, version in enumerate([5, 3, None]):
        order = order_body(f"CO-{n}", status="LIVE")["customerOrder"]
        service.stored[f"CO-{n}"] = {"order": order, "at": "t", "version": version}

    with ScriptedServer(service) as server:
        pushed = run(
            "push", str(export), "--url", server.url, "--checkpoint", str(tmp_path / "cp"),
            "--no-progress", capsys=capsys,
        )  # fmt: skip
        verified = run(
            "verify", str(export), "--url", server.url, "--settle", "0", "--no-progress",
            capsys=capsys,
        )  # fmt: skip
        only_newer = tmp_path / "newer.ndjson"
        only_newer.write_text(export.read_text().splitlines()[0] + "\n")
        newer_code, _, _ = run(
            "verify", str(only_newer), "--url", server.url, "--no-progress", capsys=capsys
        )

    code, out, _ = pushed
    assert code == 0
    assert (counts(out)["newer"], counts(out)["accepted"]) == (2, 2)
    assert re.search(r"newer +2  \(not sent: the store holds this version or a newer one\)", out)
    # A newer order is no failure of the migration; the difference below is.
    assert newer_code == 0
    code, out, _ = verified
    assert code == 1
    assert re.search(
        r"^newer +BU1/CO-0 .*stored at version 5, the export's is 3$", out, re.MULTILINE
    )
    # Equal versions compare as before: CO-1 kept its live content at the export's version.
    assert re.search(r"^differs +BU1/CO-1 .*first difference at /status$", out, re.MULTILINE)
    assert (counts(out)["matches"], counts(out)["newer"], counts(out)["differs"]) == (2, 1, 1)


def test_a_version_pointer_reads_the_versions_and_makes_its_own_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(line("CO-1", revision=7) + "\n" + line("CO-2") + "\n")
    state = ["--state-dir", str(tmp_path / "state"), "--no-progress"]
    with ScriptedServer(FakeIngest()) as server:
        plain = run("push", str(export), "--url", server.url, *state, capsys=capsys)
        pointed = run(
            "push", str(export), "--url", server.url, *state,
            "--version-pointer", "/customerOrder/revision", capsys=capsys,
        )  # fmt: skip
        versions = [r.headers.get("Source-Version") for r in server.requests if r.method == "PUT"]

    assert counts(plain[1])["accepted"] == 2
    code, out, _ = pointed
    assert code == 1
    # Not "skipped": read with a pointer, the same files are other inputs.
    assert (counts(out)["skipped"], counts(out)["accepted"], counts(out)["rejected"]) == (0, 1, 1)
    assert versions == [None, None, "7"]


def test_an_unversioned_push_shows_no_newer_row(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(FakeIngest()) as server:
        _, out, _ = run(
            "push", str(export), "--url", server.url, "--checkpoint", str(tmp_path / "cp"),
            "--no-progress", capsys=capsys,
        )  # fmt: skip

    assert "newer" not in out


def test_a_bad_version_pointer_is_a_usage_error(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["verify", str(export), "--version-pointer", "revision"])

    assert exit_.value.code == 2
    assert "--version-pointer: 'revision' is not a JSON pointer" in capsys.readouterr().err


def _shown_with_a_store_record(sent: dict[str, object]) -> dict[str, object]:
    """The order as GET shows it once a store readied and handed out some of it
    (shared/domain/order_view.py): an implicit fulfillment with the store's members, tenders."""
    return {
        **sent,
        "fulfillments": [
            {
                "fulfillmentId": "default",
                "deliveryType": "PICKUP_STORE",
                "businessUnitId": "BU1",
                "items": [
                    {"itemId": "I-1", "quantity": 2, "readyQuantity": 2, "pickedUpQuantity": 1}
                ],
                "status": "READY_FOR_PICKUP",
            }
        ],
        "tenders": [{"tenderId": "T-1", "amount": 10.5, "method": "CARD"}],
    }


def test_verify_compares_the_oms_s_body_not_what_a_store_recorded_beside_it(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = {f"CO-{n}": order_body(f"CO-{n}")["customerOrder"] for n in range(5)}

    def service(request: SeenRequest) -> Answer:
        order_id = request.path.rsplit("/", 1)[1]
        if order_id not in sent:  # the probe of the URL before the run
            return problem(404, "not-found")
        shown = _shown_with_a_store_record(sent[order_id])
        headers = {"Received-At": "2026-11-29T10:00:00.000001Z", "ETag": f'"{"e" * 64}"'}
        if order_id == "CO-0":
            # This release: the digest of the OMS's body, whatever is shown beside it.
            headers["OMS-Body-SHA256"] = hashlib.sha256(order_bytes(sent[order_id])).hexdigest()
        if order_id == "CO-4":
            shown["status"] = "SHIPPED"
        return Answer(200, {"customerOrder": shown}, headers=headers)

    with ScriptedServer(service) as server:
        code, out, _ = run(
            "verify", str(export), "--url", server.url, "--settle", "0", "--no-progress",
            capsys=capsys,
        )  # fmt: skip

    # CO-0 by its digest; CO-1..CO-3 by their members, the store's left out; CO-4 differs
    # in a member of the OMS's.
    assert code == 1
    assert (counts(out)["matches"], counts(out)["differs"]) == (4, 1)
    assert re.search(r"^differs +BU1/CO-4 .*first difference at /status$", out, re.MULTILINE)
