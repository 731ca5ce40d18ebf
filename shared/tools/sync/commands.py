"""The two commands, wired from their options: exit code out, summary on stdout."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from shared.tools.errors import UsageError
from shared.tools.sync.checkpoint import Checkpoint, default_checkpoint_path
from shared.tools.sync.client import OrdersClient, is_problem
from shared.tools.sync.push import Push
from shared.tools.sync.ratelimit import RateLimiter
from shared.tools.sync.records import expand_inputs, read_records, scan_inputs
from shared.tools.sync.rejects import RejectsFile
from shared.tools.sync.reporting import connection_problem, push_summary, verify_summary
from shared.tools.sync.retrying import RetryPolicy, is_retryable_status
from shared.tools.sync.verify import Finding, Verify, last_records
from shared.tools.sync.versions import VersionSource, reading_fingerprint

EXIT_OK = 0
EXIT_NOT_ALL_ACCEPTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Connection:
    url: str
    audience: str | None
    concurrency: int
    rate: float | None
    timeout: float
    retry_for: float


@dataclass(frozen=True, slots=True)
class PushOptions:
    files: tuple[str, ...]
    connection: Connection
    checkpoint: Path | None
    rejects: Path | None
    state_dir: Path
    resend: bool
    progress: bool
    versions: VersionSource
    check_versions: bool


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    files: tuple[str, ...]
    connection: Connection
    settle_seconds: float
    progress: bool
    versions: VersionSource


def push(options: PushOptions) -> int:
    inputs = scan_inputs(expand_inputs(options.files))
    connection = options.connection
    identity = reading_fingerprint(inputs.fingerprint, options.versions)
    with _connect(connection) as client:
        checkpoint_path = options.checkpoint or default_checkpoint_path(
            options.state_dir, identity, client.base_url
        )
        rejects_path = options.rejects or checkpoint_path.with_suffix(".rejects.ndjson")
        stop = threading.Event()
        with (
            Checkpoint.open(
                checkpoint_path,
                inputs=identity,
                url=client.base_url,
                restart=options.resend,
            ) as checkpoint,
            RejectsFile(rejects_path) as rejects,
            _progress_bar(inputs.record_count, checkpoint.accepted_count, options) as bar,
            _stop_on_signals(stop),
        ):
            summary = Push(
                client, checkpoint, rejects, bar, stop=stop, record_count=inputs.record_count,
                check_versions=options.check_versions,
            ).run(read_records(inputs, options.versions))  # fmt: skip
        print(
            push_summary(
                summary,
                url=client.base_url,
                checkpoint=checkpoint_path,
                rejects=rejects_path if rejects.count else None,
            ),
            flush=True,
        )
    if summary.refusal is not None:
        raise UsageError(summary.refusal)
    if summary.stopped:
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_NOT_ALL_ACCEPTED


def verify(options: VerifyOptions) -> int:
    inputs = scan_inputs(expand_inputs(options.files))
    last, bad = last_records(read_records(inputs, options.versions))
    stop = threading.Event()
    with (
        _connect(options.connection) as client,
        _progress_bar(len(last), 0, options) as bar,
        _stop_on_signals(stop),
    ):

        def report(finding: Finding) -> None:
            bar.write(finding.describe(), file=sys.stdout)

        summary = Verify(client, bar, report, stop=stop, settle_seconds=options.settle_seconds).run(
            read_records(inputs, options.versions), last
        )
        summary.bad = bad
        print(verify_summary(summary, url=client.base_url), flush=True)
    if summary.stopped:
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_NOT_ALL_ACCEPTED


@contextlib.contextmanager
def _connect(connection: Connection) -> Iterator[OrdersClient]:
    parts = urlsplit(connection.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url {connection.url!r} is not an http(s) URL")
    with OrdersClient(
        connection.url,
        audience=connection.audience,
        concurrency=connection.concurrency,
        retry=RetryPolicy(deadline=connection.retry_for),
        rate_limiter=RateLimiter(connection.rate) if connection.rate else None,
        read_timeout=connection.timeout,
    ) as client:
        _check_reachable(client, connection)
        yield client


def _check_reachable(client: OrdersClient, connection: Connection) -> None:
    """Fail fast on a wrong URL or missing credentials, before any order is read."""
    try:
        response = client.probe()
    except requests.RequestException as exc:
        raise UsageError(f"cannot reach {client.base_url}: {connection_problem(exc)}") from None
    status = response.status_code
    if status in (401, 403):
        hint = (
            "pass --audience (usually the function URL)"
            if connection.audience is None
            else "check that the credentials may invoke the function"
        )
        raise UsageError(f"{client.base_url} refused the request with HTTP {status}; {hint}")
    if status == 200 or (status == 404 and is_problem(response)) or is_retryable_status(status):
        return
    raise UsageError(
        f"{client.base_url} does not answer like the ingest API "
        f"(GET answered HTTP {status}, {response.headers.get('Content-Type', 'no content type')})"
    )


@contextlib.contextmanager
def _progress_bar(
    total: int, done: int, options: PushOptions | VerifyOptions
) -> Iterator[tqdm[NoReturn]]:
    with tqdm(
        total=total,
        initial=done,
        unit="order",
        disable=not options.progress,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.05,
    ) as bar:
        yield bar


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish the requests in flight, then stop. Second: now."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # os.write, not print: a handler must not take the locks the bar may hold.
        os.write(
            sys.stderr.fileno(),
            b"\norders-sync: stopping after the requests in flight (Ctrl-C again to quit now)\n",
        )

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
