"""Tools for OMS integrators: a client of the ingest API and the ``orders-sync`` command.

:class:`~shared.tools.sync.client.OrdersClient` sends orders with retries, backoff and
(for a deployed function) an ID token; ``orders-sync push`` sends a whole export
resumably and ``orders-sync verify`` reads it back. Not part of the deployed
functions (the deploy package leaves ``shared/tools`` out).
"""
