"""Reading processes from /proc: the resident memory of a process and all its descendants."""

from __future__ import annotations

from pathlib import Path


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (gunicorn's worker, the emulators' java)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(child) for child in children if int(child) not in found)
    return found


def rss_bytes(pid: int, *, children: bool = True) -> int:
    """Resident memory of ``pid`` (and its descendants); 0 for a process that is gone."""
    total = 0
    for member in descendants(pid) if children else [pid]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total
