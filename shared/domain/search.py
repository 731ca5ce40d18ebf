"""Page tokens of the search by customer: where the next page starts, bound to its query.

A token names the last order id of the page it ends, and a digest of the
customer id it was issued for, so that a token cannot be replayed against
another customer's search to skip into it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from shared.domain.ids import id_violation
from shared.errors import InvalidPageToken

_VERSION = 1


def _query_digest(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:16]


def page_token(customer_id: str, last_order_id: str) -> str:
    payload = json.dumps([_VERSION, _query_digest(customer_id), last_order_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def after_of(token: str, customer_id: str) -> str:
    """The order id the next page starts after; :class:`InvalidPageToken` for a foreign token."""
    try:
        padded = token + "=" * (-len(token) % 4)
        version, digest, after = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        raise InvalidPageToken("is not a page token this service issued") from None
    if version != _VERSION or not isinstance(after, str) or id_violation(after) is not None:
        raise InvalidPageToken("is not a page token this service issued")
    if digest != _query_digest(customer_id):
        raise InvalidPageToken("was issued for another customerId")
    return after
