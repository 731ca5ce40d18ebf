"""`make dev`'s runner as a user runs it: it serves orders, and a signal stops everything it started."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
import requests

from shared.tools.devstack import free_ports, is_listening
from shared.tools.functions import LOOPBACK, REPO_ROOT
from tests.support import order_body, unique_id, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def ports() -> dict[str, int]:
    pubsub, firestore, ingest, processor, pos, receiver, bridge, identity = free_ports(8)
    return {
        "pubsub": pubsub,
        "firestore": firestore,
        "ingest": ingest,
        "processor": processor,
        "pos": pos,
        "receiver": receiver,
        "bridge": bridge,
        "identity": identity,
    }


def devstack_env(ports: dict[str, int]) -> dict[str, str]:
    return {
        **os.environ,
        "GOOGLE_CLOUD_PROJECT": "demo-devstack-test",
        "PUBSUB_EMULATOR_HOST": f"{LOOPBACK}:{ports['pubsub']}",
        "FIRESTORE_EMULATOR_HOST": f"{LOOPBACK}:{ports['firestore']}",
        "INGEST_PORT": str(ports["ingest"]),
        "PROCESSOR_PORT": str(ports["processor"]),
        "POS_PORT": str(ports["pos"]),
        "RECEIVER_PORT": str(ports["receiver"]),
        "BRIDGE_PORT": str(ports["bridge"]),
        "IDENTITY_PORT": str(ports["identity"]),
        # A key of its own: a running `make dev` keeps its key and its tokens.
        "DEVSTACK_IDENTITY_DIR": tempfile.mkdtemp(prefix="devstack-test-identity-"),
        # The status line at most every second, so that a short run sees it.
        "DEVSTACK_STATUS_SECONDS": "1",
    }


@pytest.fixture
def output(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "devstack.out"


@pytest.fixture
def devstack(ports: dict[str, int], output: pathlib.Path) -> Iterator[subprocess.Popen[bytes]]:
    # A file, not a pipe: the functions write a line per request to the same
    # output, and an undrained pipe would block them.
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.tools.devstack"],
            cwd=REPO_ROOT,
            env=devstack_env(ports),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: process.poll() is not None or b"Ctrl-C stops everything" in output.read_bytes(),
            timeout=90,
            interval=0.2,
        )
        assert process.poll() is None, output.read_text()
        yield process
    finally:
        if process.poll() is None:
            # SIGTERM first: the runner stops the process groups it started, which a
            # SIGKILL of its own group would leave running.
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _signal_stops_everything(
    devstack: subprocess.Popen[bytes], ports: dict[str, int], stop_signal: signal.Signals
) -> None:
    devstack.send_signal(stop_signal)
    assert devstack.wait(timeout=60) == 0
    wait_for(lambda: not any(is_listening(port) for port in ports.values()), timeout=10)
    with pytest.raises(ProcessLookupError):
        # Nothing of the session devstack started (gcloud, java, gunicorn) is left.
        os.killpg(devstack.pid, 0)


def test_devstack_serves_an_order_and_sigterm_stops_everything(
    devstack: subprocess.Popen[bytes], ports: dict[str, int]
) -> None:
    # The filter bridge only listens when a webhook has a business-unit filter.
    assert all(is_listening(port) for name, port in ports.items() if name != "bridge")
    order_id = unique_id()
    url = f"http://{LOOPBACK}:{ports['ingest']}/business-units/BU1/customer-orders/{order_id}"
    assert requests.put(url, json=order_body(order_id), timeout=30).status_code == 202
    wait_for(lambda: requests.get(url, timeout=30).status_code == 200, timeout=60, interval=0.2)
    _signal_stops_everything(devstack, ports, signal.SIGTERM)


def status_lines(output: pathlib.Path) -> list[str]:
    return [line for line in output.read_text().splitlines() if line.startswith("status: ")]


def test_devstack_prints_what_a_short_run_did_on_one_status_line_and_ctrl_c_stops_everything(
    devstack: subprocess.Popen[bytes], ports: dict[str, int], output: pathlib.Path
) -> None:
    assert status_lines(output) == [], "nothing happened yet"
    base = f"http://{LOOPBACK}:{ports['ingest']}/business-units/BU1/customer-orders"
    first, second = unique_id(), unique_id()
    with requests.Session() as http:
        for order, version in ((first, "2"), (first, "1"), (second, None)):
            headers = {"Source-Version": version} if version else {}
            answer = http.put(
                f"{base}/{order}", json=order_body(order), headers=headers, timeout=30
            )
            assert answer.status_code == 202
        assert (
            http.put(
                f"{base}/{unique_id()}",
                data=b"{",
                headers={"Content-Type": "application/json"},
                timeout=30,
            ).status_code
            == 400
        )
        for order in (first, second):
            url = f"{base}/{order}"
            wait_for(lambda: http.get(url, timeout=30).status_code == 200)  # noqa: B023
    expected = (
        "status: PUT 3 accepted, 1 refused, 0 503, 0 500 | orders 2 stored, 1 skipped, "
        "0 failed | backlog 0 | events 2 published, 2 delivered | store updates 0 ready, "
        "0 pickup, 0 repeated, 0 refused | conflicts 0"
    )
    # Version 1 of the first order came after version 2: stale, so skipped; each stored
    # version is one event, which the webhook receiver prints.
    wait_for(lambda: expected in status_lines(output), timeout=30, interval=0.2)
    time.sleep(2.5)
    # Nothing changed since: no further line, and the functions' own lines are still there.
    assert status_lines(output)[-1] == expected
    assert status_lines(output).count(expected) == 1
    text = output.read_text()
    assert "event=put outcome=accepted" in text
    assert "event=process decision=stale" in text
    assert f"webhook local received customer-order.created BU1/{second} sourceVersion=none" in text
    # Ctrl-C, as a developer stops `make dev`; a stack apiece for each signal doubled the
    # file's time.
    _signal_stops_everything(devstack, ports, signal.SIGINT)


def test_devstack_refuses_ports_in_use(ports: dict[str, int]) -> None:
    with socket.socket() as occupied:
        occupied.bind((LOOPBACK, ports["ingest"]))
        occupied.listen()
        started = time.monotonic()
        finished = subprocess.run(
            [sys.executable, "-m", "shared.tools.devstack"],
            cwd=REPO_ROOT,
            env=devstack_env(ports),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 1
    assert f"port(s) {ports['ingest']}" in finished.stderr
    assert "already in use" in finished.stderr
    assert time.monotonic() - started < 30
    assert not any(is_listening(port) for name, port in ports.items() if name != "ingest")
