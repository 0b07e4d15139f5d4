"""A short long day (issue 16): 3,000 updates from 300 users and two broadcasts to them all.

The benchmark suite runs the full day (``python -m tests.benchmarks --only longday``: 100,000
updates from 10,000 users, five broadcasts to 10,000) and reports memory growth. Here, with
the tests, the same run at a small size asserts what does not depend on the machine: no
asyncio task or file descriptor left behind beyond a small constant, no error logged, every
broadcast reaching every subscriber exactly once, every update answered. Never a time, and
not memory either: at this size the allocator's noise is of the order of the budget.
"""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks.longday import run_long_day

SLACK = 4
"""Tasks or descriptors the end may hold beyond the warm-up: a poll or a pooled connection
in the middle of being replaced when the probe reads."""


def test_a_short_long_day_leaks_nothing_and_completes_every_broadcast(tmp_path: Path) -> None:
    day = run_long_day(updates=3_000, subscribers=300, broadcasts=2, workdir=tmp_path, settle=0.5)
    assert day.updates == 3_000 and day.unanswered == 0, day
    assert day.violations == 0, day
    assert day.error_lines == [], day.error_lines
    assert day.notified == [300, 300], day
    assert day.delivered_each == {2: 300}, day.delivered_each
    assert day.complete
    assert day.as_json()["complete"] is True
    assert day.as_json()["rss_growth"] == day.rss_growth
    assert day.at_end.tasks <= day.after_warmup.tasks + SLACK, day
    assert day.at_end.fds <= day.after_warmup.fds + SLACK, day
    # The probe saw a running bot: an event loop with tasks, open files, some memory.
    assert day.at_start.tasks > 0 and day.at_start.fds > 0 and day.at_start.rss > 0, day
