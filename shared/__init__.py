"""Domain and adapters shared by the customer-order-events functions and tools.

Nothing here imports a Google client at module level: the deployed functions
import this package on a cold start, and the clients are created lazily
(see :mod:`shared.lazy`).
"""
