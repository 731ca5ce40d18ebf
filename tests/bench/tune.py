"""``make bench BENCH_ARGS=--tune``: row 1 only, over gunicorn settings.

Each setting is measured against the bare function under the same WORKERS and
THREADS, so the table shows which setting gives ingest the best share of what
the server could do, and the absolute figure next to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.bench.load import run_wrk
from tests.bench.procs import MemoryPeak
from tests.bench.run import INGEST_TOPIC, OUT_DIR, Bench, Options

GRID_WORKERS = ("1", "2")
GRID_THREADS = ("4", "8", "16", "32")


@dataclass(frozen=True)
class Setting:
    workers: str
    threads: str

    def env(self) -> dict[str, str]:
        return {
            "WORKERS": self.workers,
            "THREADS": self.threads,
            "ORDERS_TOPIC": INGEST_TOPIC,
        }


def settings() -> list[Setting]:
    return [Setting(w, t) for w in GRID_WORKERS for t in GRID_THREADS]


def measure(bench: Bench, setting: Setting, bare: dict[str, float] | None) -> dict[str, Any]:
    opts = bench.options
    figures: dict[str, Any] = {"setting": setting.__dict__}
    names = ("ingest",) if bare is not None else ("bare", "ingest")
    for name in names:
        bench.memory.pop(name, None)
        with bench.running(name, **setting.env()) as process:
            run = f"{bench.run_id}-tune-{name}-{setting.workers}-{setting.threads}"
            run_wrk(
                process.url,
                business_unit="bench-warm-up",
                run=run,
                connections=opts.connections,
                seconds=opts.warm_up_seconds,
            )
            before = process.cpu_seconds()
            result = run_wrk(
                process.url,
                business_unit="bench-tune",
                run=run,
                connections=opts.connections,
                seconds=opts.seconds,
            )
            cpu = (process.cpu_seconds() - before) / max(1, result.requests)
        figures[name] = result.as_json() | {"cpu_ms_per_request": round(1000 * cpu, 3)}
        figures[name]["peak_rss_mib"] = round(
            bench.memory.get(name, MemoryPeak()).rss_kib / 1024, 1
        )
    if bare is not None:
        figures["bare"] = bare
    return figures


def markdown(rows: list[dict[str, Any]]) -> str:
    header = (
        "| WORKERS | THREADS | bare /s | ingest /s | ingest/bare | "
        "ingest p50 / p99 ms | CPU ms/PUT | ingest peak RSS MiB |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for row in rows:
        setting, bare, ingest = row["setting"], row["bare"], row["ingest"]
        lines.append(
            f"| {setting['workers']} | {setting['threads']} "
            f"| {bare['throughput_per_s']:.0f} | {ingest['throughput_per_s']:.0f} "
            f"| {ingest['throughput_per_s'] / bare['throughput_per_s']:.2f} "
            f"| {ingest['p50_ms']:.1f} / {ingest['p99_ms']:.1f} "
            f"| {ingest['cpu_ms_per_request']:.2f} | {ingest['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def tune(options: Options) -> int:
    bench = Bench(options)
    rows: list[dict[str, Any]] = []
    bare_by_server: dict[tuple[str, str], dict[str, float]] = {}
    try:
        bench.start_stack()
        for setting in settings():
            key = (setting.workers, setting.threads)
            row = measure(bench, setting, bare_by_server.get(key))
            bare_by_server.setdefault(key, row["bare"])
            rows.append(row)
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        bench.stop()
    table = markdown(rows)
    print(table)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "tune.json").write_text(json.dumps(rows, indent=2) + "\n")
    (OUT_DIR / "tune.md").write_text(table + "\n")
    print(f"written: {OUT_DIR / 'tune.json'}, {OUT_DIR / 'tune.md'}")
    return 0
