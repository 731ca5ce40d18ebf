"""``ingest`` with another publisher client, chosen by ``BENCH_PUBLISHER``, for ``--tune``.

``direct`` is the service as shipped; ``batching:SECONDS`` is google-cloud-pubsub's
batching client with message ordering and that ``max_latency``, as ingest used before.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import shared.publisher
from shared.devstack import REPO_ROOT

_VARIANT = os.environ.get("BENCH_PUBLISHER", "direct")

if _VARIANT.startswith("batching:"):
    _LATENCY = float(_VARIANT.split(":", 1)[1])

    def _batching_client() -> Any:
        from google.cloud import pubsub_v1

        return pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_latency=_LATENCY),
            publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
        )

    # Before main.py is loaded, because it imports the factory by name.
    shared.publisher.new_publisher_client = _batching_client
elif _VARIANT != "direct":
    raise ValueError(f"BENCH_PUBLISHER must be direct or batching:SECONDS, not {_VARIANT!r}")

_spec = importlib.util.spec_from_file_location(
    "ingest_main", REPO_ROOT / "functions" / "ingest" / "main.py"
)
if _spec is None or _spec.loader is None:
    raise ImportError("functions/ingest/main.py cannot be loaded")
_main = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_main)
ingest = _main.ingest
