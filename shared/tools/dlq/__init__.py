"""``orders-dlq``: inspect, replay and purge dead-lettered customer-order messages.

Pure domain modules (:mod:`.records`, :mod:`.filters`, :mod:`.replay_message`,
:mod:`.operations`, :mod:`.render`) and thin Pub/Sub adapters (:mod:`.queue`,
:mod:`.republisher`); :mod:`.cli` wires them together. Google clients are
imported only when a command runs, so importing the package stays cheap.
"""
