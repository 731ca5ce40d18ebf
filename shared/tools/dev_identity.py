"""The local stack's ID tokens: a key of its own, its public half served over HTTP.

``make dev`` (and every test stack) makes a new RSA key at start, in its identity
folder (``.devstack/identity``), and serves the public key at ``/certs`` in the form
Google serves its own (``{"key id": "PEM"}``, with ``Cache-Control: max-age``). The
pos function, under the emulators only, verifies the tokens signed with it exactly as
it verifies Google's (shared/adapters/id_tokens.py), against this URL and issuer.

``orders-dev-token EMAIL`` prints a token of that key for EMAIL, for the local pos
function: ``curl -H "Authorization: Bearer $(.venv/bin/orders-dev-token EMAIL)" ...``.
Development tooling only: the deploy package leaves it out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from shared.tools.errors import StackError
from shared.tools.functions import LOOPBACK, REPO_ROOT

DEFAULT_IDENTITY_DIR = REPO_ROOT / ".devstack" / "identity"
IDENTITY_DIR_VARIABLE = "DEVSTACK_IDENTITY_DIR"
CERTS_PATH = "/certs"
KEY_FILE = "key.pem"
DESCRIPTION_FILE = "identity.json"
# As long as Google's ID tokens live.
DEFAULT_LIFETIME_SECONDS = 3600
# How long the pos function may keep the key (Google's certs endpoint says hours).
CERTS_MAX_AGE_SECONDS = 300
_KEY_BITS = 2048


@dataclass(frozen=True)
class LocalIdentity:
    """A local signer: where its key is, who it says it is, and the audience it signs for."""

    directory: Path
    issuer: str
    audience: str
    key_id: str

    @property
    def certs_url(self) -> str:
        return f"{self.issuer}{CERTS_PATH}"

    def private_key(self) -> bytes:
        return (self.directory / KEY_FILE).read_bytes()

    def certs(self) -> dict[str, str]:
        """The public keys by key id, as Google's certs endpoint lists its own."""
        key = serialization.load_pem_private_key(self.private_key(), password=None)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {self.key_id: public.decode("ascii")}


def create(directory: Path, *, issuer: str, audience: str) -> LocalIdentity:
    """A new key in ``directory`` (any key before it is replaced, and its tokens void)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path = directory / KEY_FILE
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(pem)
    identity = LocalIdentity(directory, issuer, audience, secrets.token_hex(8))
    description = {"issuer": issuer, "audience": audience, "keyId": identity.key_id}
    (directory / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return identity


def load(directory: Path) -> LocalIdentity:
    try:
        description = json.loads((directory / DESCRIPTION_FILE).read_text())
    except FileNotFoundError:
        raise StackError(
            f"no local identity in {directory}: start the local stack (make dev) first"
        ) from None
    return LocalIdentity(
        directory, description["issuer"], description["audience"], description["keyId"]
    )


def sign(
    identity: LocalIdentity,
    email: str,
    *,
    audience: str | None = None,
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
    issued_at: float | None = None,
    private_key: bytes | None = None,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """An ID token for ``email`` shaped as Google's, signed with the local key.

    ``private_key`` signs with another key under the same key id (a forgery, for tests);
    ``claims`` replaces or adds claims.
    """
    now = int(time.time() if issued_at is None else issued_at)
    payload: dict[str, Any] = {
        "iss": identity.issuer,
        "aud": audience or identity.audience,
        "sub": email,
        "email": email,
        "email_verified": True,
        "iat": now,
        "exp": now + lifetime_seconds,
        **(claims or {}),
    }
    signer = crypt.RSASigner.from_string(  # type: ignore[no-untyped-call]
        private_key or identity.private_key(), key_id=identity.key_id
    )
    token: bytes = jwt.encode(signer, payload)  # type: ignore[no-untyped-call]
    return token.decode("ascii")


def new_private_key() -> bytes:
    """A key the local stack never made: what a forger would sign with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _handler(identity: LocalIdentity) -> type[BaseHTTPRequestHandler]:
    body = json.dumps(identity.certs()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != CERTS_PATH:
                self.send_response(HTTPStatus.NOT_FOUND)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", f"public, max-age={CERTS_MAX_AGE_SECONDS}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextlib.contextmanager
def serving_certs(identity: LocalIdentity, port: int) -> Iterator[str]:
    """Serve the identity's public key at ``{issuer}/certs`` on ``port``; yields that URL."""
    server = ThreadingHTTPServer((LOOPBACK, port), _handler(identity))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="dev-identity", daemon=True)
    thread.start()
    try:
        yield identity.certs_url
    finally:
        server.shutdown()
        server.server_close()


def identity_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(IDENTITY_DIR_VARIABLE) or DEFAULT_IDENTITY_DIR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orders-dev-token",
        description="Print an ID token for EMAIL, signed by the running local stack's key "
        "(make dev); the local pos function applies EMAIL's grants (orders-stores).",
    )
    parser.add_argument("email", help="the identity the token names")
    parser.add_argument(
        "--audience", help="the token's audience (default: the local pos function's URL)"
    )
    parser.add_argument(
        "--lifetime",
        type=int,
        default=DEFAULT_LIFETIME_SECONDS,
        metavar="SECONDS",
        help="how long the token is valid (default: %(default)s)",
    )
    parser.add_argument(
        "--identity-dir",
        type=Path,
        default=identity_dir(),
        help=f"the local stack's identity folder (default: ${IDENTITY_DIR_VARIABLE} or "
        f"{DEFAULT_IDENTITY_DIR.relative_to(REPO_ROOT)})",
    )
    arguments = parser.parse_args(argv)
    try:
        identity = load(arguments.identity_dir)
    except StackError as exc:
        print(f"orders-dev-token: {exc}", file=sys.stderr)
        return 2
    print(
        sign(
            identity,
            arguments.email,
            audience=arguments.audience,
            lifetime_seconds=arguments.lifetime,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
