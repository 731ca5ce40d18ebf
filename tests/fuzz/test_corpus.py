"""Every file of the fuzzers' corpus through its target, in memory: no finding, no crash.

The corpus is tests/fuzz/corpus/<target>/: the seeds (tests/fuzz/seeds.py) and every
input a fuzz run found a crash for (``crash-*``), each also a named test on the
emulators (tests/*/test_fuzz_regressions.py). Each runs through the target's oracle
(tests/fuzz/targets.py), as ``make fuzz`` runs it, without the fuzzer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS, corpus_dir

CASES = [
    pytest.param(target, path, id=f"{target}/{path.name}")
    for target in TARGETS
    for path in sorted(corpus_dir(target).iterdir())
]


def test_each_target_has_seeds_and_every_crash_found_has_a_named_regression_test() -> None:
    tests = Path(__file__).parents[1]
    regressions = "".join(path.read_text() for path in tests.glob("*/test_fuzz_regressions.py"))
    for target in TARGETS:
        files = [path.name for path in corpus_dir(target).iterdir()]
        assert any(name.startswith("seed-") for name in files), target
        for name in files:
            if name.startswith("crash-"):
                assert f'"{name}"' in regressions, f"{target}/{name} has no regression test"


@pytest.mark.parametrize(("target", "path"), CASES)
def test_the_corpus_passes_its_target(target: str, path: Path) -> None:
    TARGETS[target].run(path.read_bytes())
