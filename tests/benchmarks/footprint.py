"""Start and memory: process start to first getUpdates, idle RSS, RSS after a big /reload.

Start: ``time.monotonic()`` just before the process is created, to the arrival of its first
getUpdates at the double (the bot is then ready: Story Brief has migrated its store and
chosen the version to serve). Story Brief's first start in a work directory creates and
migrates its database and publishes the digest ("cold"); the starts measured after it find
them done ("warm"), as every restart does. RSS is ``VmRSS`` of ``/proc/<pid>/status``,
read ``settle`` seconds (:data:`SETTLE`) after the first getUpdates.

Memory: subscribers are seeded, the bot starts, the admin edits the digest and sends
/reload, which enqueues one delivery per subscriber (``INSERT … SELECT``); RSS is read
twice ``settle`` seconds after the reply, while the sender is draining at 30/s.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble
from tests.benchmarks.figures import MemoryRun, StartRun
from tests.benchmarks.procs import TOKEN, Kind, spawn
from tests.benchmarks.scenario import copy_seeds, reload, spawn_with_subscribers

SETTLE = 1.0
MEMORY_RATE = 30
RELOAD_TIMEOUT = 600.0


def run_start(kind: Kind, workdir: Path, *, cold: bool = False, settle: float = SETTLE) -> StartRun:
    """Start ``kind`` (its state in ``workdir``), wait for its first getUpdates, stop it."""
    with BenchDouble(TOKEN) as api:
        settings = {}
        if kind == "story-brief":
            settings["BOT_DATABASE_URL"] = Database.sqlite(workdir / "state.sqlite3").url
        bot = spawn(kind, api, workdir, **settings)
        try:
            started = bot.wait_ready(api)
            time.sleep(settle)
            rss = bot.rss()
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"{kind} exited with {code}:\n{bot.stderr()[-3000:]}")
    return StartRun(kind, cold, started, rss)


def run_memory(
    *, subscribers: int, workdir: Path, database: Database, settle: float = SETTLE
) -> MemoryRun:
    """RSS of Story Brief before and after enqueuing a broadcast to ``subscribers``."""
    digest = copy_seeds(workdir)
    seeding = time.monotonic()
    database.seed(subscribers)
    seed_seconds = time.monotonic() - seeding
    with BenchDouble(TOKEN) as api:
        bot = spawn_with_subscribers(
            api, workdir, database.url, digest, BOT_BROADCAST_RATE=str(MEMORY_RATE)
        )
        try:
            bot.wait_ready(api)
            time.sleep(settle)
            idle = bot.rss()
            notified, reload_seconds = reload(api, digest, timeout=RELOAD_TIMEOUT)
            time.sleep(2 * settle)
            status = bot.status()
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"the bot exited with {code}:\n{bot.stderr()[-3000:]}")
    return MemoryRun(
        database=database.engine_name,
        subscribers=subscribers,
        idle_rss=idle,
        enqueued_rss=status["VmRSS"],
        peak_rss=status["VmHWM"],
        notified=notified,
        reload_seconds=reload_seconds,
        seed_seconds=seed_seconds,
    )
