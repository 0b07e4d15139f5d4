"""Broadcast: an update to every subscriber, against a double that enforces Telegram's limits.

The subscribers are seeded in the database, ``python -m bot`` starts with
``BOT_BROADCAST_RATE`` (and ``BOT_PAID_BROADCAST=true`` above 30/s), the admin edits the
digest and sends /reload, and every subscriber should then get exactly one update. The
double answers 429 to any message beyond 30 (free) or 1000 (paid) in a sliding second.

Figures: the achieved rate, (n - 1) / (last - first) over the arrival times of the updates
the double accepted, against the configured rate; the busiest one-second window; 429s
received; subscribers who got no update (lost) or more than one (duplicates); the bot's CPU
time per message, from /reload to the last update.

The floor (:func:`run_baseline_broadcast`): ``baseline_broadcast.py``, bare
python-telegram-bot sending a fixed text of the same length to the same chats at the same
rate through the same double, with nothing stored.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

from bot.config import FREE_BROADCAST_RATE
from tests.benchmarks.databases import FIRST_CHAT, Database
from tests.benchmarks.double import BenchDouble, harness_gc_paused
from tests.benchmarks.figures import BroadcastRun
from tests.benchmarks.procs import TOKEN, spawn
from tests.benchmarks.scenario import copy_seeds, reload, spawn_with_subscribers
from tests.benchmarks.stats import achieved_rate, busiest_window

SETTLE_AFTER = 1.0
"""Seconds to wait after the last update for a late duplicate (default)."""
BASELINE_READY_TIMEOUT = 60.0


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
    with BenchDouble(TOKEN, latency=latency, enforce_limits=True) as api, harness_gc_paused():
        bot = spawn_with_subscribers(
            api,
            workdir,
            database.url,
            digest,
            BOT_BROADCAST_RATE=f"{rate:g}",
            BOT_PAID_BROADCAST=str(paid).lower(),
        )
        try:
            bot.wait_ready(api)
            if profile is not None:
                bot.profile(profile)
            cpu_before = bot.cpu_seconds()
            notified, reload_seconds = reload(api, digest, timeout=120)
            replied = time.monotonic()
            deadline = time.monotonic() + timeout
            while api.counted_total < subscribers and time.monotonic() < deadline:
                if bot.process.poll() is not None:
                    break
                time.sleep(0.05)
            cpu = bot.cpu_seconds() - cpu_before if bot.process.poll() is None else math.nan
            time.sleep(settle)
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"the bot exited with {code}:\n{bot.stderr()[-3000:]}")
        result = _tally(api, chats)
    return BroadcastRun(
        kind="story-brief",
        rate=rate,
        paid=paid,
        latency=latency,
        database=database.engine_name,
        subscribers=subscribers,
        notified=notified,
        reload_seconds=reload_seconds,
        first_update_after=result.pop("first") - (replied - reload_seconds),
        cpu_per_message=cpu / max(1, result["delivered"]),
        **result,
    )


def run_baseline_broadcast(
    *,
    rate: float,
    subscribers: int,
    latency: float,
    workdir: Path,
    message_bytes: int = 600,
    profile: Path | None = None,
) -> BroadcastRun:
    """The same broadcast from bare python-telegram-bot, with nothing stored (the floor)."""
    chats = list(range(FIRST_CHAT, FIRST_CHAT + subscribers))
    timeout = subscribers / rate * 2 + 60
    ready, go = workdir / "ready", workdir / "go"
    with BenchDouble(TOKEN, latency=latency, enforce_limits=True) as api, harness_gc_paused():
        prefix = api.counted_prefix + " "
        text = prefix + "x" * max(0, message_bytes - len(prefix.encode()))
        bot = spawn(
            "bare-ptb-broadcast",
            api,
            workdir,
            BASELINE_RATE=f"{rate:g}",
            BASELINE_FIRST_CHAT=str(FIRST_CHAT),
            BASELINE_CHATS=str(subscribers),
            BASELINE_TEXT=text,
            BASELINE_READY=str(ready),
            BASELINE_GO=str(go),
        )
        try:
            deadline = time.monotonic() + BASELINE_READY_TIMEOUT
            while not ready.exists():
                if bot.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the baseline did not get ready:\n{bot.stderr()[-3000:]}")
                time.sleep(0.01)
            if profile is not None:
                bot.profile(profile)
            began = time.monotonic()
            go.touch()
            code = bot.process.wait(timeout=timeout)
        finally:
            bot.stop()
        if code != 0:
            raise RuntimeError(f"the baseline exited with {code}:\n{bot.stderr()[-3000:]}")
        result = _tally(api, chats)
    found = re.search(r"^cpu ([0-9.]+)$", (workdir / "stdout.log").read_text(), re.MULTILINE)
    cpu = float(found.group(1)) if found else float("nan")
    return BroadcastRun(
        kind="bare-ptb-broadcast",
        rate=rate,
        paid=rate > FREE_BROADCAST_RATE,
        latency=latency,
        database="none",
        subscribers=subscribers,
        notified=subscribers,
        reload_seconds=0.0,
        first_update_after=result.pop("first") - began,
        cpu_per_message=cpu / max(1, result["delivered"]),
        **result,
    )


def _tally(api: BenchDouble, chats: list[int]) -> dict[str, Any]:
    """What the double saw of the counted updates: rates, windows, refusals, who got what."""
    updates = [
        call
        for call in api.calls_to("sendMessage")
        if str(call.params.get("text", "")).startswith(api.counted_prefix)
    ]
    counted = dict(api.counted)
    accepted = sorted(call.time for call in updates if call.response_status == 200)
    text = str(updates[0].params["text"]) if updates else ""
    achieved = achieved_rate(accepted)
    return {
        "delivered": len(accepted),
        "achieved": achieved,
        "busiest_window": busiest_window(accepted),
        "refused_429": sum(1 for call in updates if call.response_status == 429),
        "other_errors": sum(1 for call in updates if call.response_status not in (200, 429)),
        "lost": sum(1 for chat in chats if counted.get(chat, 0) == 0),
        "duplicates": sum(1 for chat in chats if counted.get(chat, 0) > 1),
        "seconds": accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0,
        "first": accepted[0] if accepted else float("nan"),
        "violations": len(api.violations),
        "message_bytes": len(text.encode()),
    }
