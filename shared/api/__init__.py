"""The HTTP APIs: routing, request bodies and one module per operation.

:mod:`shared.api.oms` composes what the OMS calls (the ingest function). Each
function's ``main.py`` only converts a Flask request into an
:class:`~shared.domain.http.HttpRequest` and the answer back.
"""
