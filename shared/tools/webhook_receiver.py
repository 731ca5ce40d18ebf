"""The local stack's webhook: receives order events as Pub/Sub pushes them, one line each.

``POST /webhooks/{name}`` takes one CloudEvent in binary mode (the headers are the
attributes, the body the data), as a push subscription with payload unwrapping
delivers it; the CloudEvents SDK parses it, so an event it would refuse gets a 400
and a line saying why. Every event is kept, in arrival order, for the tests:
``GET /webhooks/{name}/events`` answers them as JSON (the data base64-encoded, as
received, with the arrival time), and ``PUT /webhooks/{name}/answer`` with
``{"status": 503}`` makes the webhook answer that status from then on (to see
redelivery and dead letters).

Development tooling only: the deploy package leaves it out.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import re
import sys
import threading
import time
from collections import defaultdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.http import from_http

from shared import log
from shared.tools.functions import LOOPBACK

_PATH = re.compile(r"/webhooks/(?P<name>[A-Za-z0-9_-]{1,64})(?P<rest>/events|/answer)?")
_log = log.get_logger("webhook")


class Inbox:
    """What each webhook received, and what it answers; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._answers: dict[str, int] = {}

    def answer(self, name: str) -> int:
        with self._lock:
            return self._answers.get(name, HTTPStatus.NO_CONTENT)

    def set_answer(self, name: str, status: int) -> None:
        with self._lock:
            self._answers[name] = status

    def add(self, name: str, received: dict[str, Any]) -> None:
        with self._lock:
            self._events[name].append(received)

    def events(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events[name])


def receive(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The event as kept and answered to the tests; ``ValueError`` when the SDK refuses it."""
    try:
        event = from_http(headers, body)
    except Exception as exc:  # noqa: BLE001 - the SDK raises several kinds; all mean "not one"
        raise ValueError(f"not a CloudEvent: {exc}") from None
    return {
        "attributes": {name: str(value) for name, value in event.get_attributes().items()},
        "data": base64.b64encode(body).decode("ascii"),
        "headers": headers,
        # When it arrived (epoch seconds): what `make bench` measures delivery latency by.
        "arrivedAt": time.time(),
    }


def describe(name: str, attributes: dict[str, str]) -> str:
    order = f"{attributes.get('businessunitid', '?')}/{attributes.get('subject', '?')}"
    version = attributes.get("sourceversion", "none")
    return (
        f"webhook {name} received {attributes.get('type')} {order} sourceVersion={version} "
        f"receivedAt={attributes.get('time')} id={attributes.get('id')}"
    )


def handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            match = _PATH.fullmatch(self.path)
            if match is None or match["rest"] is not None:
                self._answer(HTTPStatus.NOT_FOUND)
                return
            name = match["name"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            status = inbox.answer(name)
            try:
                received = receive(headers, body)
            except ValueError as exc:
                log.log_event(
                    _log,
                    logging.WARNING,
                    f"webhook {name} refused: {exc}",
                    event="webhook",
                    outcome="invalid",
                )
                self._answer(HTTPStatus.BAD_REQUEST)
                return
            attributes = received["attributes"]
            if status >= 300:
                log.log_event(
                    _log,
                    logging.INFO,
                    f"{describe(name, attributes)}, answered {status}",
                    event="webhook",
                    outcome="failed",
                )
                self._answer(status)
                return
            inbox.add(name, received)
            log.log_event(
                _log,
                logging.INFO,
                describe(name, attributes),
                event="webhook",
                outcome="delivered",
                eventType=attributes.get("type"),
            )
            self._answer(status)

        def do_GET(self) -> None:
            match = _PATH.fullmatch(self.path)
            if match is None or match["rest"] != "/events":
                self._answer(HTTPStatus.NOT_FOUND)
                return
            self._answer(HTTPStatus.OK, json.dumps(inbox.events(match["name"])).encode())

        def do_PUT(self) -> None:
            match = _PATH.fullmatch(self.path)
            if match is None or match["rest"] != "/answer":
                self._answer(HTTPStatus.NOT_FOUND)
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                status = int(json.loads(self.rfile.read(length))["status"])
            except (ValueError, KeyError, TypeError):
                self._answer(HTTPStatus.BAD_REQUEST)
                return
            inbox.set_answer(match["name"], status)
            self._answer(HTTPStatus.NO_CONTENT)

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # One line per event comes from do_POST; http.server's access log would double it.
            return

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.webhook_receiver",
        description="Receive order events on http://HOST:PORT/webhooks/NAME and print a line each.",
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    arguments = parser.parse_args(argv)
    log.configure()
    server = ThreadingHTTPServer((arguments.host, arguments.port), handler(Inbox()))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
