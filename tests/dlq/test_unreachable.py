"""An unreachable Pub/Sub fails fast with one line and exit code 2, never a traceback."""

from __future__ import annotations

import time

import pytest

from shared.tools.devstack import free_ports
from shared.tools.dlq.cli import main

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "BU/CO-1"],
        ["replay", "--order", "BU/CO-1"],
        ["purge", "--all", "--yes"],
    ],
)
def test_an_unreachable_emulator_is_a_one_line_error_within_the_timeout(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = free_ports(1)[0]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{closed}")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-unreachable")
    started = time.monotonic()

    code = main([*argv, "--timeout", "1"])

    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(
        f"orders-dlq: error: the Pub/Sub emulator at 127.0.0.1:{closed} (PUBSUB_EMULATOR_HOST) "
        "did not answer within 1 s"
    )
    assert "Traceback" not in err
    assert elapsed < 5
