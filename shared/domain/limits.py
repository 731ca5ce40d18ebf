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
# A fulfillment's status, the OMS's or the store's, is searched as ``{store}/{status}``
# (shared.domain.stored_order.fulfillment_state): indexed whole whatever the store's id.
MAX_FULFILLMENT_STATUS_BYTES = FIRESTORE_MAX_INDEXED_VALUE_BYTES - MAX_ID_BYTES - 1
# A store update's id is the id of a document under its order, logged and an event attribute.
MAX_UPDATE_ID_BYTES = 128
# A Correlation-Id is logged on every line of its order and stored with the version.
MAX_CORRELATION_ID_BYTES = 128
# A round figure under what a document of the largest ids and projections leaves
# for the body (shared.domain.stored_order.document_size; a test checks the margin).
MAX_BODY_BYTES = 1_000_000

# How deep arrays and objects may nest in a JSON body (``{}`` is 1 deep, an order about 5),
# refused past it at the door (shared.domain.jsonbody.parse_json). Python's parser spends a
# level of the interpreter's recursion limit (1,000, shared with the frames already on the
# stack) per level, so without a bound the depth that parsed depended on where: a body
# accepted by ingest could fail in the processor, a pickup or a tool. 64 leaves every later
# parse over 900 levels to spare; it is also the default of .NET's System.Text.Json and half
# of Rust serde_json's 128, so a webhook reading events with either takes every order.
# Firestore's nesting limit of 20 does not apply: the body is stored as bytes.
MAX_JSON_NESTING = 64
