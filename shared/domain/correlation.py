"""Correlation ids: one per request, answered back, carried on the message and every log line.

An OMS may send its own (Hii Retail's APIs accept a ``Correlation-Id`` header);
otherwise ingest makes one, so that a PUT and its processing are always found
together by one search in Cloud Logging.
"""

from __future__ import annotations

import re
import uuid

from shared.domain.limits import MAX_CORRELATION_ID_BYTES
from shared.errors import InvalidCorrelationId

HEADER = "Correlation-Id"
# Visible ASCII: safe in a header, an attribute, a log field and a Cloud Logging query.
_VALID = re.compile(rf"[\x21-\x7e]{{1,{MAX_CORRELATION_ID_BYTES}}}")


def correlation_id(header: str | None) -> str:
    """The request's own id, or a new one when it sent none."""
    if header is None:
        return str(uuid.uuid4())
    if not _VALID.fullmatch(header):
        raise InvalidCorrelationId(
            f"{HEADER} must be 1 to {MAX_CORRELATION_ID_BYTES} visible ASCII characters"
        )
    return header
