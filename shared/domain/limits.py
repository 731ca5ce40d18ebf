"""The limits of Google's services that an accepted order must fit, and the API's own that follow.

Whatever Firestore or Pub/Sub would refuse in production is refused at the door,
so that no order gets a 202 it can never be stored for. Google's figures are in
docs/platform.md ("Limits the order must fit"), with their sources.
"""

from __future__ import annotations

# Firestore (Quotas and limits; Storage size calculations).
FIRESTORE_MAX_DOCUMENT_BYTES = 1_048_576
FIRESTORE_MAX_FIELD_VALUE_BYTES = 1_048_487
# Longer values are truncated in an index: equality queries on them are unreliable.
FIRESTORE_MAX_INDEXED_VALUE_BYTES = 1_500

# Pub/Sub (Quotas and limits).
PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES = 1_024
PUBSUB_MAX_ORDERING_KEY_BYTES = 1_024

# The API's: each id is an attribute and half of the ordering key "BU/ID".
MAX_ID_BYTES = (PUBSUB_MAX_ORDERING_KEY_BYTES - 1) // 2
# customerId and status travel as attributes and are stored beside the body;
# customerId is also indexed for the search.
MAX_PROJECTED_BYTES = min(PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES, FIRESTORE_MAX_INDEXED_VALUE_BYTES)
# A Correlation-Id is logged on every line of its order and stored with the version.
MAX_CORRELATION_ID_BYTES = 128
# A round figure under what a document of the largest ids and projections leaves
# for the body (shared.domain.stored_order.document_size; a test checks the margin).
MAX_BODY_BYTES = 1_000_000
