"""Dead letters the fuzzer found orders-dlq failing on, really dead-lettered by the emulator.

Each is a file of tests/fuzz/corpus/dlq/ (see tests/fuzz/test_fuzz_regressions.py for
the functions'): published to a subscription whose pushes always fail, forwarded by
the emulator to the dead-letter topic, then listed and shown by ``orders-dlq``.
"""

from __future__ import annotations

import json

import pytest

from tests.dlq.rig import DeadLetterRig, RawMessage, run_cli
from tests.fuzz.cases import parse_pubsub_case
from tests.fuzz.targets import corpus_dir

pytestmark = pytest.mark.integration

SETTLE = "0.5"


def test_a_dead_letter_whose_items_are_a_number_is_listed_and_shown_not_a_traceback(
    rig: DeadLetterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # dlq target: {"items": 1.5} in a hand-made message made reading its fulfillments
    # iterate a float; orders-dlq list and show stopped with a TypeError.
    case = parse_pubsub_case((corpus_dir("dlq") / "crash-items-not-a-list").read_bytes())
    attributes = {
        name: value
        for name, value in case.attributes.items()
        if not name.startswith("CloudPubSubDeadLetter")
    }
    rig.dead_letter([RawMessage(case.data, attributes, case.ordering_key)])
    common = ["--subscription", rig.dead_letter_subscription, "--settle", SETTLE]

    code, out, err = run_cli(capsys, "list", *common)
    assert code == 0, err
    assert any(line.split()[:2] == ["BU1", "CO-NEW"] for line in out.splitlines()), out
    code, out, err = run_cli(capsys, "show", "BU1/CO-NEW", "--json", *common)
    assert code == 0, err
    [shown] = json.loads(out)
    assert shown["body"]["customerOrder"]["items"] == 1.5
