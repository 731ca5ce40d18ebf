"""The local stack's stand-in for Pub/Sub's subscription filters, which the emulator ignores.

The Pub/Sub emulator (0.8.20) stores a subscription's ``filter`` and delivers every
message anyway (docs/platform.md). So locally a filtered webhook subscription pushes
here instead, and the bridge does what Pub/Sub does in production: it evaluates the
subscription's filter against the message's attributes (the headers of an unwrapped
push), forwards a match to the webhook unchanged and answers with the webhook's
status, and acknowledges a message that does not match without delivering it.

It understands the filters :func:`shared.domain.events.store_filter` writes
(``attributes:KEY``, "has key", joined by ``OR``) and refuses any other at start.
Development tooling only: production pushes straight to the webhook.
"""

from __future__ import annotations

import contextlib
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.tools.functions import LOOPBACK

_HAS_KEY = re.compile(r'attributes:(?:(?P<key>[A-Za-z0-9_-]+)|"(?P<literal>(?:[^"\\]|\\.)*)")')
# Headers that describe the hop, not the message.
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding"})


@dataclass(frozen=True)
class Route:
    target: str
    # Attribute keys, any one of which present matches.
    accepts: tuple[str, ...]


def parse_filter(expression: str) -> tuple[str, ...]:
    """The keys of an ``attributes:a OR attributes:b`` filter; ``ValueError`` for anything else."""
    keys: list[str] = []
    for term in expression.split(" OR "):
        if (has_key := _HAS_KEY.fullmatch(term.strip())) is None:
            raise ValueError(f"the local filter bridge cannot evaluate {expression!r}")
        keys.append(has_key["key"] or _unescaped(has_key["literal"]))
    return tuple(keys)


def _unescaped(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def matches(route: Route, headers: Mapping[str, str]) -> bool:
    # Payload unwrapping makes each attribute a header; header names are case-insensitive.
    lowered = {key.lower() for key in headers}
    return any(key.lower() in lowered for key in route.accepts)


def _handler(routes: Mapping[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            route = routes.get(self.path.strip("/"))
            if route is None:
                self._answer(HTTPStatus.NOT_FOUND)
            elif not matches(route, dict(self.headers.items())):
                # Pub/Sub acknowledges what a filter leaves out.
                self._answer(HTTPStatus.NO_CONTENT)
            else:
                self._answer(self._forward(route.target, body))

        def _forward(self, target: str, body: bytes) -> int:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            request = urllib.request.Request(  # noqa: S310 - loopback URLs of the local stack
                target, data=body, method="POST", headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return HTTPStatus.BAD_GATEWAY

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextlib.contextmanager
def filter_bridge(port: int, routes: Mapping[str, Route]) -> Iterator[str]:
    """Serve ``routes`` (by path, a webhook's name) on ``port``; yields the base URL."""
    server = ThreadingHTTPServer((LOOPBACK, port), _handler(dict(routes)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="filter-bridge", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.shutdown()
        server.server_close()
