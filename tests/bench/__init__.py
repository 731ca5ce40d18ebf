"""``make bench``: the service measured side by side against its limits, as ratios of one run.

Nothing here is collected by pytest (no ``test_*`` files): a benchmark is not a test,
and its figures only mean something next to the baselines measured in the same run.
"""
