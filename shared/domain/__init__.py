"""The domain: the order schema, ids, addresses, strict JSON, the message format and the rules.

Pure code: nothing here talks to a network or imports a Google client.
"""
