"""The local stack: both emulators, the topics and subscriptions, the functions and a webhook.

``make dev`` runs ``python -m shared.tools.devstack`` in the foreground on the
documented ports; the test suite starts the same stack on free ports through
:class:`LocalStack`. Development tooling only: the deploy package leaves it out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from shared.config import (
    DEFAULT_DEAD_LETTER_SUBSCRIPTION,
    DEFAULT_DEAD_LETTER_TOPIC,
    DEFAULT_EVENTS_TOPIC,
    DEFAULT_MAX_DELIVERY_ATTEMPTS,
    DEFAULT_ORDERS_TOPIC,
    DEFAULT_PROCESSOR_SUBSCRIPTION,
    DEFAULT_STORE_UPDATES_SUBSCRIPTION,
    DEFAULT_STORE_UPDATES_TOPIC,
    webhook_dead_letter_name,
    webhook_replay_name,
    webhook_subscription_name,
)
from shared.domain.events import store_filter
from shared.domain.messages import STORE_UPDATES_PUSH_PATH
from shared.tools import dev_identity
from shared.tools.devstatus import StatusBoard
from shared.tools.errors import StackError
from shared.tools.filter_bridge import Route, filter_bridge, parse_filter
from shared.tools.functions import LOOPBACK, REPO_ROOT, function_command

DEFAULT_PROJECT_ID = "demo-customer-orders"
# The processor subscription's push timeout; the processor answers well within it.
LOCAL_ACK_DEADLINE_SECONDS = 60
LOCAL_RETRY_MINIMUM_BACKOFF = "1s"
LOCAL_RETRY_MAXIMUM_BACKOFF = "10s"
READY_TIMEOUT_SECONDS = 60.0
# make dev's status line (shared/tools/devstatus.py): at most this often, only on change.
DEFAULT_STATUS_SECONDS = 5.0


@dataclass(frozen=True)
class LocalWebhook:
    """A webhook of the local receiver (``/webhooks/{name}``), subscribed to the events topic.

    Subscribed as Terraform subscribes a deployed webhook: pushed with payload
    unwrapping, ordered, dead-lettered, with a replay topic; a business-unit list
    becomes the subscription's store filter (the events that concern those units, also
    under another unit's path), applied by the filter bridge.
    """

    name: str
    business_units: tuple[str, ...] = ()
    # The emulator never dead-letters from an ordered subscription (docs/platform.md):
    # the dead-letter tests subscribe unordered.
    ordered: bool = True
    max_delivery_attempts: int = DEFAULT_MAX_DELIVERY_ATTEMPTS

    @property
    def filter(self) -> str | None:
        return store_filter(self.business_units)


DEFAULT_WEBHOOKS = (LocalWebhook("local"),)


@dataclass(frozen=True)
class StackConfig:
    project_id: str = DEFAULT_PROJECT_ID
    pubsub_port: int = 8085
    firestore_port: int = 8086
    ingest_port: int = 8080
    processor_port: int = 8081
    pos_port: int = 8082
    receiver_port: int = 8090
    bridge_port: int = 8091
    # Serves the public key of the local ID tokens (shared/tools/dev_identity.py).
    identity_port: int = 8092
    identity_dir: Path = dev_identity.DEFAULT_IDENTITY_DIR
    orders_topic: str = DEFAULT_ORDERS_TOPIC
    store_updates_topic: str = DEFAULT_STORE_UPDATES_TOPIC
    store_updates_subscription: str = DEFAULT_STORE_UPDATES_SUBSCRIPTION
    events_topic: str = DEFAULT_EVENTS_TOPIC
    webhooks: tuple[LocalWebhook, ...] = DEFAULT_WEBHOOKS
    processor_subscription: str = DEFAULT_PROCESSOR_SUBSCRIPTION
    dead_letter_topic: str = DEFAULT_DEAD_LETTER_TOPIC
    dead_letter_subscription: str = DEFAULT_DEAD_LETTER_SUBSCRIPTION
    max_delivery_attempts: int = DEFAULT_MAX_DELIVERY_ATTEMPTS
    log_dir: Path = REPO_ROOT / ".devstack" / "logs"
    # Extra environment for both functions (e.g. a shorter publish timeout in tests).
    function_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        """The documented local contract, each value overridable by its variable."""
        env = os.environ if environ is None else environ
        return cls(
            project_id=env.get("GOOGLE_CLOUD_PROJECT", DEFAULT_PROJECT_ID),
            pubsub_port=_port_of(env.get("PUBSUB_EMULATOR_HOST"), 8085),
            firestore_port=_port_of(env.get("FIRESTORE_EMULATOR_HOST"), 8086),
            ingest_port=int(env.get("INGEST_PORT", "8080")),
            processor_port=int(env.get("PROCESSOR_PORT", "8081")),
            pos_port=int(env.get("POS_PORT", "8082")),
            receiver_port=int(env.get("RECEIVER_PORT", "8090")),
            bridge_port=int(env.get("BRIDGE_PORT", "8091")),
            identity_port=int(env.get("IDENTITY_PORT", "8092")),
            identity_dir=dev_identity.identity_dir(env),
        )

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> StackConfig:
        """A stack that cannot collide with ``make dev`` or another test run."""
        ports = free_ports(8)
        # A key of its own too: a running `make dev` keeps its key and its tokens.
        overrides.setdefault("identity_dir", Path(tempfile.mkdtemp(prefix="devstack-identity-")))
        return cls(
            pubsub_port=ports[0],
            firestore_port=ports[1],
            ingest_port=ports[2],
            processor_port=ports[3],
            receiver_port=ports[4],
            bridge_port=ports[5],
            pos_port=ports[6],
            identity_port=ports[7],
            **overrides,
        )

    @property
    def pubsub_host(self) -> str:
        return f"{LOOPBACK}:{self.pubsub_port}"

    @property
    def firestore_host(self) -> str:
        return f"{LOOPBACK}:{self.firestore_port}"

    @property
    def ingest_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ingest_port}"

    @property
    def pos_url(self) -> str:
        return f"http://{LOOPBACK}:{self.pos_port}"

    @property
    def processor_url(self) -> str:
        return f"http://{LOOPBACK}:{self.processor_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://{LOOPBACK}:{self.receiver_port}"

    @property
    def bridge_url(self) -> str:
        return f"http://{LOOPBACK}:{self.bridge_port}"

    @property
    def identity_url(self) -> str:
        """The local ID tokens' issuer; their keys are at ``/certs`` below it."""
        return f"http://{LOOPBACK}:{self.identity_port}"

    def webhook_url(self, webhook: LocalWebhook) -> str:
        """Where the webhook receives its events: the local receiver."""
        return f"{self.receiver_url}/webhooks/{webhook.name}"

    def push_endpoint(self, webhook: LocalWebhook) -> str:
        """Where its subscription pushes: the webhook, or the filter bridge before it."""
        if webhook.filter is None:
            return self.webhook_url(webhook)
        return f"{self.bridge_url}/{webhook.name}"

    def emulator_env(self) -> dict[str, str]:
        return {
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "PUBSUB_EMULATOR_HOST": self.pubsub_host,
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
        }


def _port_of(host: str | None, default: int) -> int:
    if not host:
        return default
    return int(host.rsplit(":", 1)[1])


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


def http_request(
    method: str, url: str, body: Mapping[str, Any] | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URLs built here
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: TextIO | None
    reader: threading.Thread | None = None


# Called with a function's name and each line it writes, as written (newline included).
FunctionLineHandler = Callable[[str, bytes], None]


class LocalStack:
    """Starts and stops the whole local stack; use as a context manager.

    The functions write to the terminal, unless ``on_function_line`` is given: then their
    output comes through a pipe, line by line, to it (``make dev``'s status line).
    """

    def __init__(
        self, config: StackConfig, on_function_line: FunctionLineHandler | None = None
    ) -> None:
        self.config = config
        self._on_function_line = on_function_line
        self._processes: list[_Process] = []
        self._bridge = contextlib.ExitStack()
        self.identity: dev_identity.LocalIdentity | None = None
        self._gcloud_config = tempfile.TemporaryDirectory(prefix="devstack-gcloud-")

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        config = self.config
        busy = [
            port
            for port in (
                config.pubsub_port,
                config.firestore_port,
                config.ingest_port,
                config.processor_port,
                config.pos_port,
                config.receiver_port,
                config.identity_port,
                *([config.bridge_port] if self._bridge_routes() else []),
            )
            if is_listening(port)
        ]
        if busy:
            raise StackError(
                f"port(s) {', '.join(map(str, busy))} on {LOOPBACK} are already in use; "
                "is another `make dev` running? Stop it or override the ports "
                "(PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, INGEST_PORT, PROCESSOR_PORT, "
                "POS_PORT, RECEIVER_PORT, BRIDGE_PORT, IDENTITY_PORT)"
            )
        config.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_pubsub_emulator()
        self.start_firestore_emulator()
        self.create_resources()
        self.start_receiver()
        self.start_bridge()
        self.start_identity()
        self.start_function("ingest")
        self.start_function("processor")
        self.start_function("pos")

    def start_receiver(self) -> None:
        """The webhook receiver, in a process of its own like a real webhook."""
        argv = [
            sys.executable, "-m", "shared.tools.webhook_receiver",
            f"--port={self.config.receiver_port}",
        ]  # fmt: skip
        self._spawn("webhook-receiver", argv, self.function_env(), to_log=False)
        self._wait_until_listening("webhook-receiver", self.config.receiver_port)

    def _bridge_routes(self) -> dict[str, Route]:
        return {
            webhook.name: Route(self.config.webhook_url(webhook), parse_filter(webhook.filter))
            for webhook in self.config.webhooks
            if webhook.filter is not None
        }

    def start_bridge(self) -> None:
        """Pub/Sub's filters, which the emulator ignores, for the webhooks that have one."""
        routes = self._bridge_routes()
        if routes:
            self._bridge.enter_context(filter_bridge(self.config.bridge_port, routes))

    def start_identity(self) -> None:
        """A new signing key for local ID tokens, its public half served for the pos function."""
        self.identity = dev_identity.create(
            self.config.identity_dir,
            issuer=self.config.identity_url,
            audience=self.config.pos_url,
        )
        self._bridge.enter_context(
            dev_identity.serving_certs(self.identity, self.config.identity_port)
        )

    def _gcloud_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CLOUDSDK_CONFIG": self._gcloud_config.name,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        }

    def start_pubsub_emulator(self) -> None:
        Path(self._gcloud_config.name, "pubsub").mkdir(exist_ok=True)
        self._spawn(
            "pubsub-emulator",
            [
                "gcloud", "beta", "emulators", "pubsub", "start",
                f"--host-port={self.config.pubsub_host}",
                f"--project={self.config.project_id}",
                f"--data-dir={self._gcloud_config.name}/pubsub",
                "--quiet",
            ],
            self._gcloud_env(),
            to_log=True,
        )  # fmt: skip
        self._wait_until_ok("pubsub-emulator", f"http://{self.config.pubsub_host}/")

    def start_firestore_emulator(self) -> None:
        self._spawn(
            "firestore-emulator",
            [
                "gcloud", "emulators", "firestore", "start",
                f"--host-port={self.config.firestore_host}",
                "--quiet",
            ],
            self._gcloud_env(),
            to_log=True,
        )  # fmt: skip
        self._wait_until_ok("firestore-emulator", f"http://{self.config.firestore_host}/")

    def stop_emulator(self, name: str) -> None:
        """Stop one emulator (fault tests); :meth:`start_pubsub_emulator` and co. restart it."""
        for process in [p for p in self._processes if p.name == name]:
            self._terminate(process)
            self._processes.remove(process)

    def create_resources(self) -> None:
        config = self.config
        self._put(self._topic_url(config.orders_topic), {})
        self._put(self._topic_url(config.dead_letter_topic), {})
        self._put(
            self._subscription_url(config.dead_letter_subscription),
            {"topic": self._topic(config.dead_letter_topic), "ackDeadlineSeconds": 60},
        )
        self._put(
            self._subscription_url(config.processor_subscription),
            {
                "topic": self._topic(config.orders_topic),
                "pushConfig": {"pushEndpoint": f"{config.processor_url}/"},
                "ackDeadlineSeconds": LOCAL_ACK_DEADLINE_SECONDS,
                "enableMessageOrdering": True,
                "deadLetterPolicy": {
                    "deadLetterTopic": self._topic(config.dead_letter_topic),
                    "maxDeliveryAttempts": config.max_delivery_attempts,
                },
                "retryPolicy": {
                    "minimumBackoff": LOCAL_RETRY_MINIMUM_BACKOFF,
                    "maximumBackoff": LOCAL_RETRY_MAXIMUM_BACKOFF,
                },
            },
        )
        # The store updates the pos function publishes, pushed to the processor's own path
        # for them: the processor tells the topic by the path.
        self._put(self._topic_url(config.store_updates_topic), {})
        self._put(
            self._subscription_url(config.store_updates_subscription),
            {
                "topic": self._topic(config.store_updates_topic),
                "pushConfig": {"pushEndpoint": f"{config.processor_url}{STORE_UPDATES_PUSH_PATH}"},
                "ackDeadlineSeconds": LOCAL_ACK_DEADLINE_SECONDS,
                "enableMessageOrdering": True,
                "deadLetterPolicy": {
                    "deadLetterTopic": self._topic(config.dead_letter_topic),
                    "maxDeliveryAttempts": config.max_delivery_attempts,
                },
                "retryPolicy": {
                    "minimumBackoff": LOCAL_RETRY_MINIMUM_BACKOFF,
                    "maximumBackoff": LOCAL_RETRY_MAXIMUM_BACKOFF,
                },
            },
        )
        self._put(self._topic_url(config.events_topic), {})
        for webhook in config.webhooks:
            self.subscribe_webhook(webhook)

    def subscribe_webhook(self, webhook: LocalWebhook) -> None:
        """The webhook's subscription, dead-letter topic and queue, and replay topic."""
        config = self.config
        dead_letter = webhook_dead_letter_name(config.events_topic, webhook.name)
        replay = webhook_replay_name(config.events_topic, webhook.name)
        self._put(self._topic_url(dead_letter), {})
        self._put(
            self._subscription_url(dead_letter),
            {"topic": self._topic(dead_letter), "ackDeadlineSeconds": 60},
        )
        self._put(self._topic_url(replay), {})
        for topic, subscription in (
            (config.events_topic, webhook_subscription_name(config.events_topic, webhook.name)),
            (replay, replay),
        ):
            body: dict[str, Any] = {
                "topic": self._topic(topic),
                # The emulator signs no OIDC token; it is set as in production all the same.
                "pushConfig": {
                    "pushEndpoint": config.push_endpoint(webhook),
                    "noWrapper": {"writeMetadata": True},
                },
                "ackDeadlineSeconds": LOCAL_ACK_DEADLINE_SECONDS,
                "enableMessageOrdering": webhook.ordered,
                "deadLetterPolicy": {
                    "deadLetterTopic": self._topic(dead_letter),
                    "maxDeliveryAttempts": webhook.max_delivery_attempts,
                },
            }
            if webhook.filter is not None:
                body["filter"] = webhook.filter
            if webhook.ordered:
                body["retryPolicy"] = {
                    "minimumBackoff": LOCAL_RETRY_MINIMUM_BACKOFF,
                    "maximumBackoff": LOCAL_RETRY_MAXIMUM_BACKOFF,
                }
            self._put(self._subscription_url(subscription), body)

    def _topic(self, name: str) -> str:
        return f"projects/{self.config.project_id}/topics/{name}"

    def _topic_url(self, name: str) -> str:
        return f"http://{self.config.pubsub_host}/v1/{self._topic(name)}"

    def _subscription_url(self, name: str) -> str:
        return f"http://{self.config.pubsub_host}/v1/projects/{self.config.project_id}/subscriptions/{name}"

    @staticmethod
    def _put(url: str, body: Mapping[str, Any]) -> None:
        status, answer = http_request("PUT", url, body)
        if status != 200:
            raise StackError(f"PUT {url} answered {status}: {answer.decode(errors='replace')}")

    def function_env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.config.emulator_env(),
            "ORDERS_TOPIC": self.config.orders_topic,
            "STORE_UPDATES_TOPIC": self.config.store_updates_topic,
            "EVENTS_TOPIC": self.config.events_topic,
            # The pos function verifies tokens of the local key (accepted under the
            # emulators only), and answers a request without one as a POS of every store.
            "POS_AUDIENCES": self.config.pos_url,
            "POS_LOCAL_ISSUER": self.config.identity_url,
            "POS_LOCAL_CERTS_URL": f"{self.config.identity_url}{dev_identity.CERTS_PATH}",
            "PYTHONUNBUFFERED": "1",
            **self.config.function_env,
        }

    def start_function(self, name: str) -> None:
        port = {
            "ingest": self.config.ingest_port,
            "processor": self.config.processor_port,
            "pos": self.config.pos_port,
        }[name]
        self._spawn(name, function_command(name, port=port), self.function_env(), to_log=False)
        self._wait_until_listening(name, port)

    def stop_function(self, name: str) -> None:
        """Stop one function (fault tests); :meth:`start_function` restarts it."""
        self.stop_emulator(name)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str], *, to_log: bool) -> None:
        log = (self.config.log_dir / f"{name}.log").open("a") if to_log else None
        piped = log is None and self._on_function_line is not None
        popen = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=REPO_ROOT,
            stdout=log or (subprocess.PIPE if piped else None),
            stderr=subprocess.STDOUT if log or piped else None,
            stdin=subprocess.DEVNULL,
            # Own process group: the Firestore emulator is gcloud -> bash -> java,
            # and only signalling the group stops all three.
            start_new_session=True,
        )
        process = _Process(name, popen, log)
        if piped and self._on_function_line is not None:
            process.reader = threading.Thread(
                target=_read_lines,
                args=(name, popen, self._on_function_line),
                name=f"devstack-{name}-output",
                daemon=True,
            )
            process.reader.start()
        self._processes.append(process)

    def _process(self, name: str) -> _Process:
        return next(p for p in self._processes if p.name == name)

    def _check_alive(self, name: str) -> None:
        process = self._process(name)
        if process.popen.poll() is not None:
            where = f"; see {self.config.log_dir / (name + '.log')}" if process.log else ""
            raise StackError(f"{name} exited with {process.popen.returncode}{where}")

    def _wait_until_ok(self, name: str, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_alive(name)
            with contextlib.suppress(OSError):
                status, _ = http_request("GET", url, timeout=1.0)
                if status == 200:
                    return
            time.sleep(0.1)
        raise StackError(f"{name} did not answer at {url} within {READY_TIMEOUT_SECONDS:.0f} s")

    def _wait_until_listening(self, name: str, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_alive(name)
            if is_listening(port):
                return
            time.sleep(0.05)
        raise StackError(f"{name} did not listen on {port} within {READY_TIMEOUT_SECONDS:.0f} s")

    def dead_processes(self) -> list[str]:
        return [p.name for p in self._processes if p.popen.poll() is not None]

    def pid(self, name: str) -> int:
        """The process (group leader) running ``name``, e.g. to measure its memory."""
        return self._process(name).popen.pid

    def stop(self) -> None:
        for process in reversed(self._processes):
            self._terminate(process)
        self._processes.clear()
        self._bridge.close()
        self._gcloud_config.cleanup()

    @staticmethod
    def _terminate(process: _Process) -> None:
        stop_process_group(process.popen)
        if process.reader is not None:
            # The pipe ends with the process group; the last lines are handed on first.
            process.reader.join(timeout=5)
        if process.log:
            process.log.close()


def _read_lines(name: str, popen: subprocess.Popen[bytes], handle: FunctionLineHandler) -> None:
    """Hand on every line ``popen`` writes until it exits; the pipe is always drained."""
    assert popen.stdout is not None
    with popen.stdout:
        for raw in iter(popen.stdout.readline, b""):
            handle(name, raw)


def stop_process_group(popen: subprocess.Popen[bytes], grace_seconds: float = 10) -> None:
    """SIGTERM a process group, SIGKILL it after ``grace_seconds``, and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
    # The group may outlive its leader (java under gcloud's wrapper, gunicorn workers).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.devstack",
        description="Run the whole local stack in the foreground until Ctrl-C or SIGTERM.",
    )
    parser.add_argument(
        "--status-every",
        type=float,
        default=float(os.environ.get("DEVSTACK_STATUS_SECONDS", DEFAULT_STATUS_SECONDS)),
        metavar="SECONDS",
        help="print the status line this often while its counts change; 0: never "
        "(default: $DEVSTACK_STATUS_SECONDS or %(default)s)",
    )
    arguments = parser.parse_args(argv)
    config = StackConfig.from_env()
    board = StatusBoard(sys.stdout.buffer, arguments.status_every)
    stack = LocalStack(config, on_function_line=board.function_line)
    with _stop_on_signals():
        try:
            stack.start()
            _print_contract(config)
            board.start()
            while not (dead := stack.dead_processes()):
                time.sleep(0.5)
            print(f"devstack: {', '.join(dead)} exited; stopping everything", file=sys.stderr)
            return 1
        except StackError as exc:
            print(f"devstack: {exc}", file=sys.stderr)
            return 1
        except _Stop as stop:
            print(f"devstack: {stop}, stopping everything", file=sys.stderr)
            return 0
        finally:
            # A second Ctrl-C must not interrupt the clean-up and leave processes behind.
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            board.stop()
            stack.stop()


def _webhooks(config: StackConfig) -> str:
    return ", ".join(
        f"{config.webhook_url(webhook)}"
        + (
            f" (business units {', '.join(webhook.business_units)})"
            if webhook.business_units
            else ""
        )
        for webhook in config.webhooks
    )


def _print_contract(config: StackConfig) -> None:
    print(
        f"""
customer-order-events local stack (project {config.project_id})
  ingest function     {config.ingest_url}  PUT/GET /business-units/BU/customer-orders/ID
  processor function  {config.processor_url}  <- push from {config.processor_subscription}
  pos function        {config.pos_url}  GET .../ID, POST .../ID:pickup, POST ...:search
                      without a token: a POS of every store; with one of
                      `.venv/bin/orders-dev-token EMAIL`: EMAIL's grants (orders-stores)
  Pub/Sub emulator    {config.pubsub_host}  topic {config.orders_topic}, \
dead letters {config.dead_letter_topic} / {config.dead_letter_subscription}
  Firestore emulator  {config.firestore_host}  UI-less; GET {config.ingest_url}/business-units/...
  events              topic {config.events_topic} -> {_webhooks(config)}
  emulator logs       {config.log_dir}
export {" ".join(f"{k}={v}" for k, v in config.emulator_env().items())}
A status line follows while anything happens (docs/development.md#the-status-line).
Ctrl-C stops everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
