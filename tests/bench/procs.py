"""Function processes of the benchmark: start, wait for the first good answer, sample memory, stop."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shared.tools.devstack import stop_process_group
from shared.tools.functions import FUNCTIONS, LOOPBACK, REPO_ROOT, main_py, serve_command

SERVED: Mapping[str, tuple[str, Path]] = {
    "bare": ("bare", REPO_ROOT / "tests" / "bench" / "bare_function.py"),
    "bare_publish": ("bare_publish", REPO_ROOT / "tests" / "bench" / "bare_function.py"),
    "bare_push": ("bare_push", REPO_ROOT / "tests" / "bench" / "bare_function.py"),
    "bare_push_read": ("bare_push_read", REPO_ROOT / "tests" / "bench" / "bare_function.py"),
    "bare_push_store": ("bare_push_store", REPO_ROOT / "tests" / "bench" / "bare_function.py"),
    "ingest": (FUNCTIONS["ingest"], main_py("ingest")),
    "processor": (FUNCTIONS["processor"], main_py("processor")),
}
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_SECONDS = 60.0


def _stat_fields(pid: int | str) -> list[str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name may hold spaces and parentheses; the fields follow the last ')'.
    return stat.rsplit(")", 1)[1].split()


def group_members(pgid: int) -> list[int]:
    """Every live process of a process group: the gunicorn master and all its workers."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process, all its threads included."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemoryPeak:
    """The largest sum over all processes of a function seen so far, in KiB."""

    rss_kib: int = 0
    pss_kib: int = 0
    processes: int = 0

    def merge(self, other: MemoryPeak) -> None:
        self.rss_kib = max(self.rss_kib, other.rss_kib)
        self.pss_kib = max(self.pss_kib, other.pss_kib)
        self.processes = max(self.processes, other.processes)


@dataclass
class FunctionProcess:
    """One functions-framework server (gunicorn master and workers) in its own process group."""

    name: str
    port: int
    env: Mapping[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    peak: MemoryPeak = field(default_factory=MemoryPeak)
    _log: IO[bytes] | None = None
    _sampler: threading.Thread | None = None
    _stop_sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        target, source = SERVED[self.name]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            serve_command(target, source, port=self.port),
            env=dict(self.env),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own group, so that the master and every worker are measured and stopped together.
            start_new_session=True,
        )
        self._stop_sampling.clear()
        self._sampler = threading.Thread(target=self._sample, name=f"rss-{self.name}", daemon=True)
        self._sampler.start()

    def wait_until(
        self, probe: Callable[[], bool], timeout: float = START_TIMEOUT_SECONDS
    ) -> float:
        """Seconds from the process start until ``probe`` first succeeds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}; see {self.log_path}"
                )
            if probe():
                return time.monotonic() - self.started_at
            time.sleep(0.005)
        raise RuntimeError(
            f"{self.name} gave no good answer within {timeout:.0f} s; see {self.log_path}"
        )

    def cpu_seconds(self) -> float:
        """CPU used so far by the master and every worker."""
        if self.popen is None:
            return 0.0
        return sum(cpu_seconds(pid) for pid in group_members(self.popen.pid))

    def sample(self) -> MemoryPeak:
        if self.popen is None:
            return MemoryPeak()
        pids = group_members(self.popen.pid)
        now = MemoryPeak(
            rss_kib=sum(rss_kib(pid) for pid in pids),
            pss_kib=sum(pss_kib(pid) for pid in pids),
            processes=len(pids),
        )
        self.peak.merge(now)
        return now

    def _sample(self) -> None:
        while not self._stop_sampling.wait(0.2):
            self.sample()

    def stop(self) -> None:
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        if self.popen is not None:
            stop_process_group(self.popen)
            self.popen = None
        if self._log is not None:
            self._log.close()
            self._log = None
