"""ID tokens: fetched once, reused until near expiry, a failed refresh survived while valid."""

from __future__ import annotations

import base64
import json

import pytest

from shared.tools.errors import CredentialsError
from shared.tools.sync.auth import IdTokenSource, token_expiry


def jwt(expires_at: float, name: str = "t") -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'exp': expires_at, 'n': name})}.c2ln"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_until_five_minutes_before_it_expires() -> None:
    clock = Clock()
    fetched: list[str] = []

    def fetch(audience: str) -> str:
        fetched.append(audience)
        return jwt(clock.now + 3600, name=str(len(fetched)))

    source = IdTokenSource("https://ingest.example", fetch=fetch, clock=clock)
    first = source.token()
    clock.now += 3600 - 301
    assert source.token() == first
    clock.now += 2
    second = source.token()

    assert second != first
    assert fetched == ["https://ingest.example"] * 2


def test_a_failed_refresh_keeps_the_old_token_while_it_is_still_usable() -> None:
    clock = Clock()
    answers = [jwt(clock.now + 3600)]

    def fetch(audience: str) -> str:
        if not answers:
            raise CredentialsError("metadata server unavailable")
        return answers.pop()

    source = IdTokenSource("aud", fetch=fetch, clock=clock)
    token = source.token()
    clock.now += 3600 - 200
    assert source.token() == token
    clock.now += 200 - 10
    with pytest.raises(CredentialsError):
        source.token()


def test_the_expiry_is_read_from_the_token() -> None:
    assert token_expiry(jwt(1234.0)) == 1234.0
    with pytest.raises(CredentialsError):
        token_expiry("not-a-jwt")
