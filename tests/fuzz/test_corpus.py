"""Every file of the fuzzers' corpus through its target, in memory: no finding, no crash.

The corpus is tests/fuzz/corpus/<target>/: the seeds (tests/fuzz/seeds.py) and every
input a fuzz run found a crash for (``crash-*``), each also a named test on the
emulators (tests/*/test_fuzz_regressions.py). Each runs through the target's oracle
(tests/fuzz/targets.py), as ``make fuzz`` runs it, without the fuzzer, in a process of its
own: the in-memory deployment the targets drive replaces the adapters' factories, the
environment and the project's log handlers for its whole process, which would leak into
every later test of the session (a local stack started after it logged nothing).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.tools.functions import REPO_ROOT
from tests.fuzz.targets import TARGETS, corpus_dir


def test_each_target_has_seeds_and_every_crash_found_has_a_named_regression_test() -> None:
    tests = Path(__file__).parents[1]
    regressions = "".join(path.read_text() for path in tests.glob("*/test_fuzz_regressions.py"))
    for target in TARGETS:
        files = [path.name for path in corpus_dir(target).iterdir()]
        assert any(name.startswith("seed-") for name in files), target
        for name in files:
            if name.startswith("crash-"):
                assert f'"{name}"' in regressions, f"{target}/{name} has no regression test"


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_corpus_passes_its_target(target: str) -> None:
    replayed = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", "--replay", target],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr[-3000:]
