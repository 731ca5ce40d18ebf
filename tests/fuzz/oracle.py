"""What no answer of the service may carry, whichever fuzzer (schemathesis, atheris) asked."""

from __future__ import annotations

# What a leaked traceback or an internal error message would carry.
LEAK_MARKERS = (
    "Traceback (most recent call last)",
    'File "/',
    "site-packages",
    "pydantic_core",
    "google.api_core",
    "Werkzeug",
    "<!doctype html",
)
