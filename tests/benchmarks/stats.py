"""Small statistics for the benchmarks: medians, percentiles, rates and windows."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values (shown as "n/a", never compared)."""
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0..1) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; NaN when either is missing or the baseline is zero."""
    if math.isnan(value) or math.isnan(baseline) or baseline == 0:
        return math.nan
    return value / baseline


def achieved_rate(times: Sequence[float]) -> float:
    """(n - 1) / (last - first): the average rate between the first and the last event."""
    ordered = sorted(times)
    if len(ordered) < 2 or ordered[-1] == ordered[0]:
        return math.nan
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


def busiest_window(times: Sequence[float], width: float = 1.0) -> int:
    """The most events in any half-open window ``[t, t + width)``.

    A window holding events can slide right until it starts at its first event without
    losing any, so only windows starting at event times need looking at.
    """
    ordered = sorted(times)
    best, end = 0, 0
    for start, moment in enumerate(ordered):
        end = max(end, start)
        while end < len(ordered) and ordered[end] < moment + width:
            end += 1
        best = max(best, end - start)
    return best
