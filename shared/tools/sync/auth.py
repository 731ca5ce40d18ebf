"""ID tokens for calling a deployed (IAM-protected) ingest function."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.tools.errors import CredentialsError

# Google ID tokens live an hour; fetching a new one this long before expiry means
# a request never leaves with a token that expires on the way.
REFRESH_MARGIN_SECONDS = 300.0
# A failed refresh is survivable while the cached token has at least this long left.
MINIMUM_USABLE_SECONDS = 30.0


def fetch_google_id_token(audience: str) -> str:
    """An ID token for ``audience`` from Application Default Credentials.

    Works with a service account key (``GOOGLE_APPLICATION_CREDENTIALS``), an
    impersonated service account, or the metadata server; not with plain user
    credentials, which cannot mint ID tokens for an arbitrary audience.
    """
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.id_token

    try:
        # google-auth leaves these functions unannotated.
        token: str = google.oauth2.id_token.fetch_id_token(  # type: ignore[no-untyped-call]
            google.auth.transport.requests.Request(), audience
        )
    except google.auth.exceptions.GoogleAuthError as exc:
        raise CredentialsError(
            f"cannot get an ID token for {audience}: {exc}".splitlines()[0]
        ) from exc
    return token


def token_expiry(token: str) -> float:
    """The ``exp`` claim (Unix seconds) of a JWT, read without verifying the signature.

    Only the caller's own cache uses it; the service verifies the token.
    """
    import google.auth.jwt

    try:
        claims = google.auth.jwt.decode(token, verify=False)  # type: ignore[no-untyped-call]
        return float(claims["exp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CredentialsError(f"the ID token has no readable expiry: {exc}") from exc


class IdTokenSource:
    """One ID token per audience, shared by every thread, fetched again near expiry."""

    def __init__(
        self,
        audience: str,
        *,
        fetch: Callable[[str], str] = fetch_google_id_token,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._expires_at - REFRESH_MARGIN_SECONDS:
                return self._token
            try:
                token = self._fetch(self.audience)
                expires_at = token_expiry(token)
            except CredentialsError:
                if self._token is not None and now < self._expires_at - MINIMUM_USABLE_SECONDS:
                    return self._token
                raise
            self._token, self._expires_at = token, expires_at
            return token
