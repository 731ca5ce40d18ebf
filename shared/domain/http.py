"""Framework-free HTTP request and response values, and the pure helpers that read them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from shared.domain.problems import PROBLEM_CONTENT_TYPE, Problem
from shared.errors import BodyTooLarge

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    # The path as sent, still percent-encoded, so that "%2F" stays distinguishable from "/".
    raw_path: str
    content_type: str | None = None
    content_length: int | None = None
    body: IO[bytes] | None = None
    # Any other request headers; looked up without regard to case (see :meth:`header`).
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        if value is not None:
            return value
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, document: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        return cls(
            status,
            json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def with_headers(self, headers: Mapping[str, str]) -> HttpResponse:
        return HttpResponse(self.status, self.body, {**self.headers, **headers})

    @classmethod
    def from_problem(cls, problem: Problem) -> HttpResponse:
        return cls(
            problem.status,
            json.dumps(problem.to_json(), ensure_ascii=False).encode("utf-8"),
            {"Content-Type": PROBLEM_CONTENT_TYPE, **problem.headers},
        )


def read_body(stream: IO[bytes] | None, content_length: int | None, *, limit: int) -> bytes:
    """Read at most ``limit`` bytes, also when the body is chunked and has no length."""
    if content_length is not None and content_length > limit:
        raise BodyTooLarge
    if stream is None:
        return b""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
    return b"".join(chunks)


def discard_rest(stream: IO[bytes] | None) -> int:
    """Read what is left of a body and throw it away, a chunk at a time; the bytes discarded."""
    if stream is None:
        return 0
    discarded = 0
    while chunk := stream.read(_CHUNK_BYTES):
        discarded += len(chunk)
    return discarded


def media_type(content_type: str | None) -> tuple[str | None, dict[str, str]]:
    """``("application/json", {"charset": "utf-8"})`` from a Content-Type header."""
    if not content_type or not content_type.strip():
        return None, {}
    kind, *params = content_type.split(";")
    parameters: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parameters
