"""google-auth adapter of :class:`shared.ports.IdTokenVerifier`: Google-signed ID tokens.

:func:`google.oauth2.id_token.verify_token` checks the signature against the keys at
``certs_url``, the expiry and the audience; this adds the issuer and a verified email.
google-auth fetches the keys on every call unless its request transport caches them:
the session here is CacheControl's, which keeps the keys for as long as the endpoint's
``Cache-Control: max-age`` says (Google's, about five hours; docs/platform.md#who-calls-the-pos).

In production the keys and issuers are Google's. Under the emulators the local stack
signs its own tokens (shared/tools/dev_identity.py) and serves its key over HTTP with
the same headers; :meth:`GoogleIdTokenVerifier.from_settings` accepts that key only then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cachecontrol
import requests
from google.auth import exceptions, transport
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from shared.config import AccessSettings
from shared.domain.grants import identity_of
from shared.errors import InvalidToken, KeysUnavailable
from shared.ports import IdTokenVerifier

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
# A request waits this long at most for the keys, then answers 503.
CERTS_TIMEOUT_SECONDS = 5.0
# Between the signer's clock and ours.
CLOCK_SKEW_SECONDS = 10


class _BoundedRequest(transport.Request):
    """google-auth's requests transport with a timeout of our own (its default is 120 s)."""

    def __init__(self, inner: Request, timeout_seconds: float) -> None:
        self._inner = inner
        self._timeout = timeout_seconds

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        response: transport.Response = self._inner(
            url, method=method, body=body, headers=headers, timeout=self._timeout
        )
        return response


def caching_request(timeout_seconds: float = CERTS_TIMEOUT_SECONDS) -> transport.Request:
    """A google-auth request transport that keeps responses as their Cache-Control allows."""
    session = cachecontrol.CacheControl(requests.Session())
    return _BoundedRequest(Request(session=session), timeout_seconds)


class GoogleIdTokenVerifier(IdTokenVerifier):
    def __init__(
        self,
        *,
        audiences: Sequence[str],
        issuers: Sequence[str],
        certs_url: str,
        request: transport.Request,
    ) -> None:
        if not audiences:
            raise ValueError("an ID token verifier needs at least one audience")
        self._audiences = list(audiences)
        self._issuers = frozenset(issuers)
        self._certs_url = certs_url
        self._request = request

    @classmethod
    def from_settings(cls, settings: AccessSettings) -> GoogleIdTokenVerifier:
        """Google's keys and issuers; the local stack's own under the emulators only."""
        local = settings.local_issuer
        return cls(
            audiences=settings.audiences,
            issuers=(local.issuer,) if local else GOOGLE_ISSUERS,
            certs_url=local.certs_url if local else GOOGLE_CERTS_URL,
            request=caching_request(),
        )

    def verify(self, token: str) -> str:
        try:
            claims = id_token.verify_token(
                token,
                self._request,
                audience=self._audiences,
                certs_url=self._certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except exceptions.TransportError as exc:
            raise KeysUnavailable(f"the keys at {self._certs_url} could not be fetched") from exc
        except (ValueError, TypeError, KeyError, AttributeError, exceptions.GoogleAuthError) as exc:
            # google-auth says ValueError for a bad signature, expiry, audience or shape; a
            # token of the wrong shape can fail its parsing with any of the others.
            raise InvalidToken(str(exc)) from None
        return self._identity(claims)

    def _identity(self, claims: Mapping[str, Any]) -> str:
        if claims.get("iss") not in self._issuers:
            raise InvalidToken(f"the token's issuer {claims.get('iss')!r} is not accepted")
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") is not True:
            raise InvalidToken("the token carries no verified email")
        try:
            return identity_of(email)
        except ValueError as exc:
            raise InvalidToken(str(exc)) from None
