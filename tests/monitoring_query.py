"""Enough of Cloud Monitoring to judge terraform/'s alert policies on log lines.

Log entries, each with the time it was written, become the points of terraform/'s
log-based metrics (:func:`metric_points`): a counter gets 1 per matching entry, a
distribution the extracted value, each labelled as the metric's extractors say
(:mod:`tests.logging_query`). The alert conditions then read those points the way
Cloud Monitoring's documentation describes them:

- :class:`Threshold` (``condition_threshold``): the points the filter selects in the
  alignment period up to an evaluation time, summed (``ALIGN_SUM`` then ``REDUCE_SUM``:
  one series), compared with the threshold; no point in the period is no value, which
  meets no comparison. With a ``duration`` the comparison must hold at every evaluation
  (one a minute) over that long.
- :class:`Absent` (``condition_absent``): no point in the duration (plus the alignment
  period the last point is aligned into), after at least one point was ever written
  ("the monitored subsystem must write at least one data point", Google Cloud,
  "Create metric-absence alerting policies").
- :class:`BurnRate` (``select_slo_burn_rate(SLO, WINDOW)``): the share of bad events over
  the window divided by what the goal allows (1 - goal); no event in the window is no value.

A :class:`Policy` is met when all its conditions are (``AND``) or any (``OR``). Monitoring
filters (``metric.type=... AND resource.type=... AND metric.labels.K="v"``) are read with
the Logging filter parser, over a point shaped as ``{"metric": ..., "resource": ...}``.
Anything else (another aligner, reducer or comparison) is a ``ValueError``, so that a
policy outside this subset fails its test instead of being judged wrongly.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tests.logging_query import Entry, compile_filter, extract, extract_value

EVALUATION_PERIOD_SECONDS = 60


@dataclass(frozen=True)
class Point:
    """One data point of a log-based metric, at ``time`` seconds."""

    time: float
    metric: Mapping[str, Any]
    resource: Mapping[str, Any]
    value: float

    @property
    def as_entry(self) -> dict[str, Any]:
        return {"metric": self.metric, "resource": self.resource}


@dataclass(frozen=True)
class LogMetric:
    """A log-based metric as terraform/observability.tf defines it."""

    type: str
    filter: str
    labels: Mapping[str, str]  # label => extractor
    value_extractor: str | None = None  # a distribution's value; None for a counter


def metric_points(
    entries: Iterable[tuple[float, Entry]], metrics: Sequence[LogMetric]
) -> list[Point]:
    """Every point the metrics get from the timed entries."""
    selectors = [(metric, compile_filter(metric.filter)) for metric in metrics]
    points = []
    for time, entry in entries:
        for metric, selected in selectors:
            if not selected(entry):
                continue
            value = (
                1.0
                if metric.value_extractor is None
                else extract_value(metric.value_extractor, entry)
            )
            if value is None:
                continue
            labels = {key: extract(extractor, entry) for key, extractor in metric.labels.items()}
            points.append(
                Point(
                    time,
                    {"type": metric.type, "labels": labels},
                    {"type": entry["resource"]["type"], "labels": entry["resource"]["labels"]},
                    value,
                )
            )
    return points


class Series:
    """The points one Monitoring filter selects, in time order."""

    def __init__(self, monitoring_filter: str, points: Iterable[Point]) -> None:
        selected = compile_filter(monitoring_filter)
        self.points = sorted(
            (point for point in points if selected(point.as_entry)), key=lambda p: p.time
        )
        self._times = [point.time for point in self.points]

    def within(self, start: float, end: float) -> list[Point]:
        """The points in (start, end]."""
        low = bisect.bisect_right(self._times, start)
        high = bisect.bisect_right(self._times, end)
        return self.points[low:high]

    def any_before(self, time: float) -> bool:
        return bool(self._times) and self._times[0] <= time


class Timeline:
    """All the points of a run; each filter's series is selected once."""

    def __init__(self, points: Iterable[Point]) -> None:
        self.points = list(points)
        self.series = cache(self._select)

    def _select(self, monitoring_filter: str) -> Series:
        return Series(monitoring_filter, self.points)


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "COMPARISON_GT": lambda value, threshold: value > threshold,
    "COMPARISON_GE": lambda value, threshold: value >= threshold,
    "COMPARISON_LT": lambda value, threshold: value < threshold,
    "COMPARISON_LE": lambda value, threshold: value <= threshold,
}


def _seconds(duration: str) -> float:
    if not duration.endswith("s"):
        raise ValueError(f"not a duration in seconds: {duration!r}")
    return float(duration[:-1])


def _steps(end: float, duration: float) -> list[float]:
    """The evaluation times over ``duration`` up to ``end``, one a minute."""
    count = int(duration // EVALUATION_PERIOD_SECONDS)
    return [end - step * EVALUATION_PERIOD_SECONDS for step in range(count + 1)]


@dataclass(frozen=True)
class Threshold:
    filter: str
    comparison: str
    threshold: float
    duration: str
    alignment_period: str
    aligner: str
    reducer: str

    def __post_init__(self) -> None:
        if (self.aligner, self.reducer) != ("ALIGN_SUM", "REDUCE_SUM"):
            raise ValueError(f"only ALIGN_SUM with REDUCE_SUM is judged here, not {self}")
        if self.comparison not in _COMPARISONS:
            raise ValueError(f"unknown comparison {self.comparison}")

    def met(self, timeline: Timeline, at: float) -> bool:
        series = timeline.series(self.filter)
        alignment = _seconds(self.alignment_period)
        compare = _COMPARISONS[self.comparison]
        for time in _steps(at, _seconds(self.duration)):
            window = series.within(time - alignment, time)
            if not window or not compare(sum(point.value for point in window), self.threshold):
                return False
        return True


@dataclass(frozen=True)
class Absent:
    filter: str
    duration: str
    alignment_period: str
    aligner: str
    reducer: str

    def __post_init__(self) -> None:
        if (self.aligner, self.reducer) != ("ALIGN_SUM", "REDUCE_SUM"):
            raise ValueError(f"only ALIGN_SUM with REDUCE_SUM is judged here, not {self}")

    def met(self, timeline: Timeline, at: float) -> bool:
        series = timeline.series(self.filter)
        # The last point stays in the aligned series for one alignment period.
        quiet_since = at - _seconds(self.duration) - _seconds(self.alignment_period)
        return series.any_before(quiet_since) and not series.within(quiet_since, at)


@dataclass(frozen=True)
class RequestSlo:
    """A request-based SLO of bad and total events (``good_total_ratio``)."""

    bad: str
    total: str
    goal: float

    def bad_share(self, timeline: Timeline, start: float, end: float) -> float | None:
        total = sum(point.value for point in timeline.series(self.total).within(start, end))
        if total == 0:
            return None
        bad = sum(point.value for point in timeline.series(self.bad).within(start, end))
        return bad / total


@dataclass(frozen=True)
class DistributionSlo:
    """A distribution-cut SLO: values up to ``good_max`` are good."""

    distribution: str
    good_max: float
    goal: float

    def bad_share(self, timeline: Timeline, start: float, end: float) -> float | None:
        values = [point.value for point in timeline.series(self.distribution).within(start, end)]
        if not values:
            return None
        return sum(1 for value in values if value > self.good_max) / len(values)


@dataclass(frozen=True)
class BurnRate:
    slo: RequestSlo | DistributionSlo
    window: str
    comparison: str
    threshold: float

    def met(self, timeline: Timeline, at: float) -> bool:
        share = self.slo.bad_share(timeline, at - _seconds(self.window), at)
        if share is None:
            return False
        return _COMPARISONS[self.comparison](share / (1 - self.slo.goal), self.threshold)


Condition = Threshold | Absent | BurnRate


@dataclass(frozen=True)
class Policy:
    name: str
    combiner: str
    conditions: Sequence[Condition] = field(default_factory=list)

    def met(self, timeline: Timeline, at: float) -> bool:
        results = (condition.met(timeline, at) for condition in self.conditions)
        if self.combiner == "AND":
            return all(results)
        if self.combiner == "OR":
            return any(results)
        raise ValueError(f"unknown combiner {self.combiner}")


def first_met(policy: Policy, timeline: Timeline, start: float, end: float) -> float | None:
    """The first evaluation time in [start, end] at which ``policy`` is met, or ``None``."""
    time = start
    while time <= end:
        if policy.met(timeline, time):
            return time
        time += EVALUATION_PERIOD_SECONDS
    return None
