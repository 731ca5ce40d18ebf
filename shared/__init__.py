"""The runtime of both functions: exactly what their deploy zips hold.

``domain/`` holds the pure rules, ``ingest`` and ``processor`` the decisions,
``ports`` and ``adapters/`` the way out to Pub/Sub and Firestore. The domain and
the two services import no Google client; only the adapters do, and only each
function's composition root (its ``main.py``) imports the adapters. ``tools/``
is never deployed.
"""
