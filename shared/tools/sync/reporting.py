"""What the commands print: the end-of-run summaries and one-line error texts."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from shared.tools.sync.push import PushSummary
from shared.tools.sync.verify import VerifySummary

_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


def push_summary(summary: PushSummary, *, url: str, checkpoint: Path, rejects: Path | None) -> str:
    rate = summary.sent / summary.elapsed_seconds if summary.elapsed_seconds > 0 else 0.0
    rejected = summary.bad + summary.rejected
    lines = [
        f"orders-sync push to {url}: {summary.records} records, "
        f"{summary.elapsed_seconds:.1f} s, {rate:.1f} orders/s sent",
        _row("accepted", summary.accepted),
        _row(
            "rejected",
            rejected,
            f"{summary.bad} bad lines, {summary.rejected} refused by the service",
        ),
        _row("failed", summary.failed, "not delivered in time; run the same command again"),
        _row("sent", summary.sent),
        _row("skipped", summary.skipped, "accepted by an earlier run"),
        _row("superseded", summary.superseded, "a later line of the same order was accepted"),
        _row("recovered", summary.recovered, "in doubt after a killed run, found stored"),
        *_rows_if_any(
            "newer", summary.newer, "not sent: the store holds this version or a newer one"
        ),
        _row("left", summary.left, "not sent yet; run the same command again"),
        f"  {'checkpoint':<11} {checkpoint}",
        f"  {'rejects':<11} {rejects if rejects is not None else 'none'}",
    ]
    return "\n".join(lines)


def verify_summary(summary: VerifySummary, *, url: str) -> str:
    return "\n".join(
        [
            f"orders-sync verify against {url}: {summary.orders} orders, "
            f"{summary.elapsed_seconds:.1f} s",
            _row("matches", summary.matches),
            _row("missing", summary.missing, "not stored"),
            _row("differs", summary.differs, "stored content is not the last record's"),
            _row("unreadable", summary.unreadable, "the service did not answer in time"),
            *_rows_if_any("newer", summary.newer, "stored at a higher version than the export's"),
            _row("bad", summary.bad, "lines that name no order"),
        ]
    )


def _rows_if_any(name: str, count: int, why: str) -> list[str]:
    # Only versioned exports have these: an unversioned one's summary stays as it was.
    return [_row(name, count, why)] if count else []


def _row(name: str, count: int, why: str = "") -> str:
    text = f"  {name:<11} {count:>8}"
    return f"{text}  ({why})" if why and count else text


def connection_problem(exc: requests.RequestException) -> str:
    """The cause of a connection error in a few words, without urllib3's object reprs."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(0).strip()
    if "Name or service not known" in str(exc) or "NameResolutionError" in str(exc):
        return "unknown host name"
    return type(exc).__name__
