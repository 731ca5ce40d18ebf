"""A scripted HTTP server on a free loopback port, for the sync client's unit tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What the server does with one request: answer, or drop the connection unanswered.
DROP = "drop"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Script = Callable[[SeenRequest], Answer | str]


class ScriptedServer:
    """Answers each request with ``script(request)``; keeps every request it saw."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = SeenRequest(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with server._lock:
                    server.requests.append(seen)
                answer = server.script(seen)
                if answer == DROP:
                    self.close_connection = True
                    return
                assert isinstance(answer, Answer)
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # HEAD answers GET's headers, Content-Length included, without the body.
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = _serve  # noqa: N815

        return Handler


def sequence(*answers: Answer | str) -> Script:
    """Answer with each of ``answers`` in turn, then repeat the last."""
    remaining: Iterator[Answer | str] = iter(answers)
    last: list[Answer | str] = [answers[-1]]
    lock = threading.Lock()

    def script(request: SeenRequest) -> Answer | str:
        with lock:
            for answer in remaining:
                return answer
            return last[0]

    return script


def accepted(request: SeenRequest) -> Answer:
    return Answer(
        202,
        {"messageId": str(len(request.path)), "receivedAt": "2026-11-29T10:00:00.000001Z"},
    )


def problem(
    status: int,
    slug: str = "validation-failed",
    *,
    headers: dict[str, str] | None = None,
    **members: Any,
) -> Answer:
    return Answer(
        status,
        {"type": f"urn:customer-order-events:problem:{slug}", "status": status, **members},
        headers=headers or {},
        content_type="application/problem+json",
    )
