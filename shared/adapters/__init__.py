"""Adapters of :mod:`shared.ports`: Pub/Sub, Firestore, and in-memory ones for unit tests.

The Google adapters import their client libraries at module level; only the
functions' composition roots import them, so the domain never does.
"""
