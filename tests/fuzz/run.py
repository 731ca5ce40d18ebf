"""``make fuzz``: atheris (libFuzzer for Python) on each target in turn, for a bounded time.

    python -m tests.fuzz.run [--seconds N] [TARGET ...]   fuzz each target N seconds
    python -m tests.fuzz.run --replay [TARGET ...]         run every corpus file once

Each target runs in a process of its own (libFuzzer exits when it is done or finds a
crash) with coverage of ``shared`` instrumented, its checked-in corpus
(tests/fuzz/corpus/<target>/) as seeds and the structure-aware mutator of its case
format (tests/fuzz/mutations.py). What libFuzzer learns goes to .fuzz/<target>/corpus,
a crash to .fuzz/<target>/crash-*: keep it as tests/fuzz/corpus/<target>/crash-<name>
and give it a named test in tests/fuzz/test_fuzz_regressions.py.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from shared.tools.functions import REPO_ROOT

WORK = REPO_ROOT / ".fuzz"
ALL_TARGETS = ("ingest", "pos", "processor", "dlq", "sync")
# libFuzzer's progress lines ("#1333 REDUCE cov: 164 ..."): the last is where it stopped.
_EXECUTIONS = re.compile(
    r"^#(\d+)\s|stat::number_of_executed_units:\s*(\d+)|Done (\d+) runs", re.MULTILINE
)
_WORKER = "--worker"
_COVERAGE = re.compile(r"#\d+\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+)")


def _worker(target: str, libfuzzer_args: list[str]) -> None:
    """The fuzzing process: instrument the code under test, then hand over to libFuzzer."""
    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports(include=["shared"]):
        import shared.tools.dlq.filters
        import shared.tools.dlq.queue
        import shared.tools.dlq.render
        import shared.tools.dlq.replay_message
        import shared.tools.sync.client
        import shared.tools.sync.records  # noqa: F401
        from tests.fuzz import mutations, targets

        targets.deployment()
    chosen = targets.TARGETS[target]
    mutator = mutations.MUTATORS[chosen.format]
    atheris.Setup([sys.argv[0], *libfuzzer_args], chosen.run, custom_mutator=mutator)
    atheris.Fuzz()


def fuzz(target: str, seconds: int) -> tuple[int, int, list[Path]]:
    """Fuzz one target; its executions, final coverage and the crashes it wrote."""
    from tests.fuzz.targets import TARGETS, corpus_dir

    work = WORK / target
    (work / "corpus").mkdir(parents=True, exist_ok=True)
    before = set(work.glob("crash-*")) | set(work.glob("timeout-*"))
    log = work / "log.txt"
    arguments = [
        str(work / "corpus"),
        str(corpus_dir(target)),
        f"-max_total_time={seconds}",
        f"-max_len={TARGETS[target].max_len}",
        "-timeout=20",
        "-rss_limit_mb=3072",
        f"-artifact_prefix={work}/",
        "-print_final_stats=1",
    ]
    with log.open("wb") as output:
        subprocess.run(
            [sys.executable, "-m", "tests.fuzz.run", _WORKER, target, *arguments],
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = log.read_text(errors="replace")
    executions = [int("".join(found)) for found in _EXECUTIONS.findall(text)]
    coverage = [int(found) for found in _COVERAGE.findall(text)]
    crashes = sorted((set(work.glob("crash-*")) | set(work.glob("timeout-*"))) - before)
    return max(executions, default=0), (coverage[-1] if coverage else 0), crashes


def replay(target: str) -> list[tuple[Path, str]]:
    """Every corpus file of ``target`` through it once; the files that fail, and why."""
    from tests.fuzz.targets import TARGETS, corpus_dir

    failed = []
    for path in sorted(corpus_dir(target).iterdir()):
        try:
            TARGETS[target].run(path.read_bytes())
        except Exception as exc:  # noqa: BLE001
            failed.append((path, f"{type(exc).__name__}: {exc}"[:500]))
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(ALL_TARGETS))
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("--replay", action="store_true", help="run the corpus once, no fuzzing")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [_WORKER]:
        _worker(argv[1], argv[2:])
        return 0
    arguments = parser.parse_args(argv)
    chosen = arguments.targets or list(ALL_TARGETS)
    unknown = set(chosen) - set(ALL_TARGETS)
    if unknown:
        parser.error(
            f"no target {', '.join(sorted(unknown))}; the targets: {', '.join(ALL_TARGETS)}"
        )
    failed = False
    for target in chosen:
        if arguments.replay:
            for path, why in replay(target):
                print(f"{target}: {path.name}: {why}")
                failed = True
            continue
        executions, coverage, crashes = fuzz(target, arguments.seconds)
        print(
            f"{target}: {executions} executions in {arguments.seconds} s, coverage {coverage}, "
            f"{len(crashes)} crash(es)",
            *(f"  {crash}" for crash in crashes),
            sep="\n",
            flush=True,
        )
        failed = failed or bool(crashes) or executions == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
