"""Who calls the pos function, and the answers for whoever may not: 401 and 403.

Cloud Run checks the caller's ID token before the code runs, and then hands the code
that token with its signature removed (docs/platform.md#who-calls-the-pos). So the POS
sends its token twice: in ``X-Serverless-Authorization`` for Cloud Run, which checks
that header when both are sent, and in ``Authorization`` for the function, which
Cloud Run then passes on as sent. The function verifies the ``Authorization`` token
again against Google's keys, whatever Cloud Run let through, and looks up what that
identity holds (shared/grants.py).
"""

from __future__ import annotations

from typing import Protocol

from shared.api.unavailable import read_from_store
from shared.domain.access import Caller
from shared.domain.http import HttpRequest
from shared.domain.problems import Rejected, problem
from shared.errors import InvalidToken, KeysUnavailable
from shared.grants import GrantCache
from shared.ports import IdTokenVerifier

AUTHORIZATION_HEADER = "Authorization"
# What the answer to a request without a verifiable token asks for (RFC 6750).
CHALLENGE = 'Bearer realm="pos"'
# Cloud Run's mark on a token whose signature it removed.
REMOVED_SIGNATURE = "SIGNATURE_REMOVED_BY_GOOGLE"
# The identity of the local stack's POS that sends no token (under the emulators only).
LOCAL_POS_IDENTITY = "local-pos"


class Authenticator(Protocol):
    def authenticate(self, request: HttpRequest) -> Caller:
        """The caller of ``request``, or :class:`Rejected` (401, or 503 when it cannot tell now)."""


def unauthenticated(detail: str) -> Rejected:
    """The 401 for a request without a verifiable ID token."""
    return Rejected(
        problem(401, "unauthenticated", detail, headers={"WWW-Authenticate": CHALLENGE})
    )


def forbidden(caller: Caller, business_unit_id: str, what: str) -> Rejected:
    """The 403 for a caller that does not hold ``business_unit_id``."""
    return Rejected(
        problem(
            403,
            "forbidden",
            f"{caller.identity} does not hold business unit {business_unit_id!r} {what}",
        )
    )


class IdTokenAuthenticator:
    def __init__(
        self,
        verifier: IdTokenVerifier,
        grants: GrantCache,
        *,
        retry_after_seconds: int,
        local: bool = False,
    ) -> None:
        self._verifier = verifier
        self._grants = grants
        self._retry_after = retry_after_seconds
        # Under the emulators only (shared/config.py AccessSettings): no token, every store.
        self._local = local

    def authenticate(self, request: HttpRequest) -> Caller:
        token = bearer_token(request.header(AUTHORIZATION_HEADER))
        if token is None:
            if self._local:
                return Caller.everything(LOCAL_POS_IDENTITY)
            raise unauthenticated(
                "send the ID token as 'Authorization: Bearer TOKEN', and again as "
                "'X-Serverless-Authorization: Bearer TOKEN' for Cloud Run (docs/pos.md)"
            )
        if token.endswith("." + REMOVED_SIGNATURE):
            # Refused before fetching any key: no key can verify it.
            raise unauthenticated(
                "the Authorization token is the one Cloud Run checked, with its signature "
                "removed; send the token in X-Serverless-Authorization too, so that Cloud Run "
                "checks that one and passes Authorization on as sent (docs/pos.md)"
            )
        try:
            identity = self._verifier.verify(token)
        except InvalidToken as exc:
            raise unauthenticated(f"the ID token cannot be verified: {exc}") from None
        except KeysUnavailable as exc:
            raise Rejected(
                problem(
                    503,
                    "store-unavailable",
                    "the keys that verify ID tokens could not be fetched; try again",
                    headers={"Retry-After": str(self._retry_after)},
                )
            ) from exc
        return read_from_store(lambda: self._grants.caller(identity), self._retry_after)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header; ``None`` when there is none."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("the Authorization header must be 'Bearer' and an ID token")
    return token.strip()
