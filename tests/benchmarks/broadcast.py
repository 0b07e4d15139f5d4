"""Broadcast: an update to every subscriber, against a double that enforces Telegram's limits.

The subscribers are seeded in the database, ``python -m bot`` starts with
``BOT_BROADCAST_RATE`` (and ``BOT_PAID_BROADCAST=true`` above 30/s), the admin edits the
digest and sends /reload, and every subscriber should then get exactly one update. The
double answers 429 to any message beyond 30 (free) or 1000 (paid) in a sliding second.

Figures: the achieved rate, (n - 1) / (last - first) over the arrival times of the updates
the double accepted, against the configured rate; the busiest one-second window; 429s
received; subscribers who got no update (lost) or more than one (duplicates).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.config import FREE_BROADCAST_RATE
from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble
from tests.benchmarks.procs import TOKEN, spawn
from tests.benchmarks.scenario import ADMIN, copy_seeds, reload
from tests.benchmarks.stats import achieved_rate, busiest_window

SETTLE_AFTER = 1.0
"""Seconds to wait after the last update for a late duplicate (default)."""


@dataclass(frozen=True)
class BroadcastRun:
    """One broadcast, start to finish."""

    rate: float
    paid: bool
    latency: float
    database: str
    subscribers: int
    notified: int
    delivered: int
    """Updates the double accepted (HTTP 200)."""
    achieved: float
    """Messages per second, first to last accepted update."""
    achieved_ratio: float
    busiest_window: int
    refused_429: int
    """Updates the double answered 429 (flood limits)."""
    other_errors: int
    lost: int
    duplicates: int
    seconds: float
    """First to last accepted update."""
    reload_seconds: float
    """From /reload to its reply (validate, diff, publish with one delivery row each)."""
    first_update_after: float
    """From the admin's /reload to the arrival of the first update."""
    violations: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_broadcast(
    *,
    rate: float,
    subscribers: int,
    latency: float,
    workdir: Path,
    database: Database,
    settle: float = SETTLE_AFTER,
    profile: Path | None = None,
) -> BroadcastRun:
    """Seed ``subscribers``, start the bot at ``rate``, /reload, wait for every update."""
    paid = rate > FREE_BROADCAST_RATE
    digest = copy_seeds(workdir)
    database.seed(subscribers)
    chats = database.subscribers(subscribers)
    timeout = subscribers / rate * 2 + 60
    with BenchDouble(TOKEN, latency=latency, enforce_limits=True) as api:
        bot = spawn(
            "story-brief",
            api,
            workdir,
            BOT_DATABASE_URL=database.url,
            BOT_DIGEST_PATH=str(digest),
            BOT_ADMIN_IDS=str(ADMIN),
            BOT_BROADCAST_RATE=f"{rate:g}",
            BOT_PAID_BROADCAST=str(paid).lower(),
        )
        try:
            bot.wait_ready(api)
            if profile is not None:
                bot.profile(profile)
            notified, reload_seconds = reload(api, digest, timeout=120)
            replied = time.monotonic()
            deadline = time.monotonic() + timeout
            while api.counted_total < subscribers and time.monotonic() < deadline:
                if bot.process.poll() is not None:
                    break
                time.sleep(0.05)
            time.sleep(settle)
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"the bot exited with {code}:\n{bot.stderr()[-3000:]}")
        updates = [
            call
            for call in api.calls_to("sendMessage")
            if str(call.params.get("text", "")).startswith(api.counted_prefix)
        ]
        counted = dict(api.counted)
        violations = len(api.violations)
    accepted = sorted(call.time for call in updates if call.response_status == 200)
    refused = sum(1 for call in updates if call.response_status == 429)
    others = sum(1 for call in updates if call.response_status not in (200, 429))
    achieved = achieved_rate(accepted)
    return BroadcastRun(
        rate=rate,
        paid=paid,
        latency=latency,
        database=database.engine_name,
        subscribers=subscribers,
        notified=notified,
        delivered=len(accepted),
        achieved=achieved,
        achieved_ratio=achieved / rate,
        busiest_window=busiest_window(accepted),
        refused_429=refused,
        other_errors=others,
        lost=sum(1 for chat in chats if counted.get(chat, 0) == 0),
        duplicates=sum(1 for chat in chats if counted.get(chat, 0) > 1),
        seconds=accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0,
        reload_seconds=reload_seconds,
        first_update_after=accepted[0] - (replied - reload_seconds) if accepted else float("nan"),
        violations=violations,
    )
