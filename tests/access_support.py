"""Callers of the pos function in tests: an identity's token, session and grants.

Tokens come from the stack's own signer (shared/tools/dev_identity.py), as
``orders-dev-token`` makes them; grants are changed with ``orders-stores`` itself,
against the stack's Firestore emulator. Reused by every test that calls the pos
function as a given store (``pos_as`` in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import requests

from shared.tools import dev_identity, stores
from shared.tools.devstack import LocalStack


def token_for(stack: LocalStack, email: str, **changes: object) -> str:
    """An ID token for ``email`` from the stack's signer (``changes``: see dev_identity.sign)."""
    assert stack.identity is not None, "the stack made no identity"
    return dev_identity.sign(stack.identity, email, **changes)  # type: ignore[arg-type]


def session_for(stack: LocalStack, email: str) -> requests.Session:
    """A session whose every request carries ``email``'s token, as a POS sends it."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_for(stack, email)}"
    return session


def orders_stores(stack: LocalStack, *argv: str) -> str:
    """Run ``orders-stores`` against the stack's emulator; its standard output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = stores.main([*argv, "--project", stack.config.project_id])
    assert code == 0, err.getvalue()
    return out.getvalue()


def grant(stack: LocalStack, email: str, *business_units: str, everything: bool = False) -> None:
    orders_stores(stack, "grant", email, *business_units, *(["--all"] if everything else []))


def revoke(stack: LocalStack, email: str, *business_units: str) -> None:
    orders_stores(stack, "revoke", email, *business_units)


@contextlib.contextmanager
def sessions(stack: LocalStack, *emails: str) -> Iterator[dict[str, requests.Session]]:
    opened = {email: session_for(stack, email) for email in emails}
    try:
        yield opened
    finally:
        for session in opened.values():
            session.close()
