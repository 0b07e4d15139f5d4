"""The benchmark suite: run every benchmark, print the table, write the JSON.

``python -m tests.benchmarks [--quick] [--json PATH] …`` (see ``--help`` and
``tests/benchmarks/README.md``). Ratios compare Story Brief with the bare PTB bot of the
same run; figures are medians; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.config import FREE_BROADCAST_RATE
from tests.benchmarks.answering import P99_BUDGET, measure_answering
from tests.benchmarks.broadcast import run_baseline_broadcast, run_broadcast
from tests.benchmarks.concurrency import (
    DEPTH,
    P99_LATENCY,
    SATURATED,
    run_burst,
    run_pipelined,
)
from tests.benchmarks.concurrency import (
    KINDS as CONCURRENCY_KINDS,
)
from tests.benchmarks.content import measure_content, measure_reload
from tests.benchmarks.databases import Database, PostgresDatabase, async_url
from tests.benchmarks.figures import (
    AnswerTimes,
    BroadcastRun,
    BurstRun,
    ContentTimes,
    InlineRun,
    LongDayRun,
    MemoryRun,
    PageRun,
    PipelinedRun,
    ReloadTimes,
    ReplyRun,
    StartRun,
)
from tests.benchmarks.footprint import run_memory, run_start
from tests.benchmarks.longday import run_long_day
from tests.benchmarks.page import run_page_and_inline
from tests.benchmarks.procs import STACK_MODULES, Kind
from tests.benchmarks.reply import Load, capture_replies, run_reply
from tests.benchmarks.stats import median, ratio

SECTIONS = (
    "start",
    "reply",
    "broadcast",
    "memory",
    "content",
    "answering",
    "concurrency",
    "page",
    "longday",
)
DEFAULT_JSON = Path(tempfile.gettempdir()) / "story-brief-benchmarks.json"
MIB = 1024 * 1024
GROWTH_BUDGET = 20_000_000
"""Bytes: the budget's 20 MB, in decimal megabytes (the stricter reading)."""


@dataclass(frozen=True)
class Profile:
    """How big and how long each benchmark runs."""

    name: str
    latencies: tuple[float, ...] = (0.0, 0.05)
    """Latencies of the double for the reply path, in seconds."""
    reply_users: int = 50
    reply_warmup: float = 2.0
    reply_seconds: float = 8.0
    reply_repeats: int = 3
    starts: int = 5
    start_warmup: bool = True
    """Start the bare bot once, unmeasured, as Story Brief's first start warms the caches."""
    slow_rate: float = 30
    slow_seconds: float = 60
    fast_rate: float = 1000
    fast_subscribers: int = 10_000
    broadcast_latencies: tuple[float, ...] = (0.05,)
    memory_sizes: tuple[int, ...] = (1_000, 1_000_000)
    content_repeats: int = 20
    reload_repeats: int = 10
    answer_repeats: int = 20
    settle: float = 1.0
    """Seconds a bot is left alone before a reading (start-up calls done, memory settled)."""
    concurrency_latencies: tuple[float, ...] = (0.0, 0.05, 0.15)
    concurrency_users: tuple[int, ...] = (50, 1_000)
    light_users: tuple[int, ...] = (20,)
    """Users with one command each at 50 ms and nothing else: a load that leaves the core
    free on a slow machine too, where the p99 budget (round trips, not a queue) is judged."""
    concurrency_warmup: float = 2.0
    concurrency_seconds: float = 6.0
    concurrency_rounds: int = 5
    """Story Brief's runs at every latency, whose ratios to 0 ms are budgets, are made this
    many times, each round's cells back to back: one run of the same cell varies by a third
    here, and a machine's pace drifts between rounds (:func:`_paired_ratio`)."""
    burst_chats: int = 10_000
    burst_latency: float = 0.05
    page_loads: int = 20
    inline_users: int = 50
    inline_warmup: float = 1.0
    inline_seconds: float = 5.0
    longday_updates: int = 100_000
    longday_users: int = 10_000
    """The users are the subscribers: every broadcast goes to all of them."""
    longday_broadcasts: int = 5


FULL = Profile("full")
QUICK = Profile(
    "quick",
    reply_users=20,
    reply_warmup=1.0,
    reply_seconds=4.0,
    reply_repeats=1,
    starts=3,
    slow_seconds=10,
    fast_subscribers=2_000,
    memory_sizes=(1_000, 100_000),
    content_repeats=7,
    reload_repeats=5,
    answer_repeats=5,
    concurrency_warmup=1.0,
    concurrency_seconds=3.0,
    concurrency_rounds=1,
    burst_chats=10_000,
    page_loads=10,
    inline_users=20,
    inline_seconds=3.0,
    longday_updates=20_000,
    longday_users=2_000,
)
SMOKE = Profile(
    "smoke",
    latencies=(0.0,),
    reply_users=4,
    reply_warmup=0.3,
    reply_seconds=1.0,
    reply_repeats=1,
    starts=1,
    start_warmup=False,
    slow_seconds=1,
    fast_subscribers=200,
    memory_sizes=(1_000,),
    content_repeats=3,
    reload_repeats=2,
    answer_repeats=1,
    settle=0.2,
    concurrency_latencies=(0.0, 0.05),
    concurrency_users=(4,),
    light_users=(),
    concurrency_warmup=0.3,
    concurrency_seconds=1.0,
    concurrency_rounds=1,
    burst_chats=100,
    page_loads=2,
    inline_users=4,
    inline_warmup=0.3,
    inline_seconds=1.0,
    longday_updates=3_000,
    longday_users=300,
    longday_broadcasts=2,
)
PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}


@dataclass
class Results:
    """Every run of a suite, as measured."""

    profile: Profile
    machine: dict[str, Any]
    starts: list[StartRun] = field(default_factory=list)
    replies: list[ReplyRun] = field(default_factory=list)
    broadcasts: list[BroadcastRun] = field(default_factory=list)
    memory: list[MemoryRun] = field(default_factory=list)
    content: ContentTimes | None = None
    reloads: list[ReloadTimes] = field(default_factory=list)
    answering: AnswerTimes | None = None
    pipelined: list[PipelinedRun] = field(default_factory=list)
    bursts: list[BurstRun] = field(default_factory=list)
    page: PageRun | None = None
    inline: InlineRun | None = None
    long_day: LongDayRun | None = None
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile.__dict__,
            "machine": self.machine,
            "seconds": self.seconds,
            "skipped": self.skipped,
            "starts": [run.as_json() for run in self.starts],
            "replies": [run.as_json() for run in self.replies],
            "broadcasts": [run.as_json() for run in self.broadcasts],
            "memory": [run.as_json() for run in self.memory],
            "content": None if self.content is None else self.content.as_json(),
            "reloads": [run.as_json() for run in self.reloads],
            "answering": None if self.answering is None else self.answering.as_json(),
            "pipelined": [run.as_json() for run in self.pipelined],
            "bursts": [run.as_json() for run in self.bursts],
            "page": None if self.page is None else self.page.as_json(),
            "inline": None if self.inline is None else self.inline.as_json(),
            "long_day": None if self.long_day is None else self.long_day.as_json(),
            "table": [row.as_json() for row in table(self)],
        }


# -- running ---------------------------------------------------------------------------


def run_suite(
    profile: Profile,
    workdir: Path,
    *,
    postgres: str | None = None,
    sections: Sequence[str] = SECTIONS,
    progress: Callable[[str], None] = lambda line: None,
    profile_dir: Path | None = None,
) -> Results:
    """Run the chosen sections of the suite, each bot in a directory under ``workdir``."""
    began = time.monotonic()
    results = Results(profile, machine(postgres))
    if not postgres:
        results.skipped.append(
            "PostgreSQL figures: no server given (--postgres or BOT_TEST_DATABASE_URL)"
        )
    directories = iter(range(1, 1_000_000))

    def fresh(name: str) -> Path:
        path = workdir / f"{next(directories):03d}-{name}"
        path.mkdir(parents=True)
        return path

    def profile_of(where: Path) -> Path | None:
        if profile_dir is None:
            return None
        profile_dir.mkdir(parents=True, exist_ok=True)
        return profile_dir / f"{where.name}.txt"

    if "start" in sections:
        progress("start: Story Brief and the bare PTB bot, alternately")
        starting: tuple[Kind, ...] = ("bare-ptb", "story-brief", "bare-ptb-stack")
        places = {kind: fresh(f"start-{kind}") for kind in starting}
        settle = profile.settle
        results.starts.append(
            run_start("story-brief", places["story-brief"], cold=True, settle=settle)
        )
        if profile.start_warmup:  # the same warm-up as ours had: the page cache
            for kind in ("bare-ptb", "bare-ptb-stack"):
                run_start(kind, places[kind], settle=settle)
        for turn in range(profile.starts):
            for kind in _rotate(turn, starting):
                results.starts.append(run_start(kind, places[kind], settle=settle))

    if "reply" in sections:
        progress("reply: capturing Story Brief's replies for the bare bot to send")
        replies = capture_replies(fresh("reply-capture"))
        kinds: tuple[Kind, ...] = ("bare-ptb", "story-brief", "bare-ptb-same")
        for turn in range(profile.reply_repeats):
            for latency in profile.latencies:
                for kind in _rotate(turn, kinds):
                    progress(f"reply: {kind}, {latency * 1000:g} ms, round {turn + 1}")
                    where = fresh(f"reply-{kind}-{latency * 1000:g}ms")
                    results.replies.append(
                        run_reply(
                            kind,
                            Load(
                                latency,
                                profile.reply_users,
                                profile.reply_warmup,
                                profile.reply_seconds,
                            ),
                            workdir=where,
                            settle=profile.settle / 2,
                            profile=profile_of(where),
                            replies=replies,
                        )
                    )

    if "broadcast" in sections:
        plans = [
            (profile.slow_rate, round(profile.slow_rate * profile.slow_seconds)),
            (profile.fast_rate, profile.fast_subscribers),
        ]
        for latency in profile.broadcast_latencies:
            for rate, subscribers in plans:
                progress(f"broadcast: {subscribers} at {rate:g}/s, {latency * 1000:g} ms")
                where = fresh(f"broadcast-{rate:g}-{latency * 1000:g}ms")
                broadcast = run_broadcast(
                    rate=rate,
                    subscribers=subscribers,
                    latency=latency,
                    workdir=where,
                    database=Database.sqlite(where / "state.sqlite3"),
                    settle=profile.settle,
                    profile=profile_of(where),
                )
                results.broadcasts.append(broadcast)
                if rate > FREE_BROADCAST_RATE:
                    # Where the rate asks for a core's worth of sending: the floor, next.
                    progress(f"broadcast floor: bare PTB, {subscribers} at {rate:g}/s")
                    results.broadcasts.append(
                        run_baseline_broadcast(
                            rate=rate,
                            subscribers=subscribers,
                            latency=latency,
                            workdir=(floor := fresh(f"floor-{rate:g}-{latency * 1000:g}ms")),
                            message_bytes=broadcast.message_bytes,
                            profile=profile_of(floor),
                        )
                    )

    if "memory" in sections:
        engines: list[Callable[[Path], Database]] = [
            lambda where: Database.sqlite(where / "state.sqlite3")
        ]
        if postgres:
            engines.append(lambda where: PostgresDatabase(postgres))
        for make in engines:
            for size in profile.memory_sizes:
                where = fresh(f"memory-{size}")
                database = make(where)
                progress(f"memory: {size} subscribers on {database.engine_name}")
                try:
                    results.memory.append(
                        run_memory(
                            subscribers=size,
                            workdir=where,
                            database=database,
                            settle=profile.settle,
                        )
                    )
                finally:
                    database.drop()

    if "content" in sections:
        progress("content: load, validate, diff, render; /reload on a real store")
        results.content = measure_content(fresh("content"), profile.content_repeats)
        where = fresh("reload-sqlite")
        results.reloads.append(
            measure_reload(where, Database.sqlite(where / "state.sqlite3"), profile.reload_repeats)
        )
        if postgres:
            database = PostgresDatabase(postgres)
            try:
                results.reloads.append(
                    measure_reload(fresh("reload-postgresql"), database, profile.reload_repeats)
                )
            finally:
                database.drop()

    if "answering" in sections:
        progress("answering: the engine on every evaluation question")
        results.answering = measure_answering(profile.answer_repeats)

    if "concurrency" in sections:
        _run_concurrency(profile, results, fresh, progress)

    if "page" in sections:
        progress("page: bytes, render in headless Chromium; inline answers beside replies")
        results.page, results.inline = run_page_and_inline(
            workdir=fresh("page"),
            loads=profile.page_loads,
            users=profile.inline_users,
            seconds=profile.inline_seconds,
            warmup=profile.inline_warmup,
        )

    if "longday" in sections:
        progress(
            f"long day: {profile.longday_updates:,} updates from {profile.longday_users:,} "
            f"users, {profile.longday_broadcasts} broadcasts to them all"
        )
        results.long_day = run_long_day(
            updates=profile.longday_updates,
            subscribers=profile.longday_users,
            broadcasts=profile.longday_broadcasts,
            workdir=fresh("long-day"),
            settle=profile.settle,
        )

    results.seconds = time.monotonic() - began
    return results


def _run_concurrency(
    profile: Profile,
    results: Results,
    fresh: Callable[[str], Path],
    progress: Callable[[str], None],
) -> None:
    progress("concurrency: capturing Story Brief's replies for the bare bots to send")
    replies = capture_replies(fresh("concurrency-capture"))

    def pipelined(
        kind: Kind, users: int, latency: float, label: str, suffix: str, depth: int = DEPTH
    ) -> None:
        """One pipelined run of the profile's length, its directory named by ``suffix``."""
        progress(f"concurrency: {kind}, {users} users, {label}")
        results.pipelined.append(
            run_pipelined(
                kind,
                Load(latency, users, profile.concurrency_warmup, profile.concurrency_seconds),
                workdir=fresh(f"pipelined-{kind}-{users}-{suffix}"),
                replies=replies,
                depth=depth,
                settle=profile.settle / 2,
            )
        )

    # Round 1: Story Brief's cells of a user count back to back (their ratios are budgets,
    # judged round by round), then the bare bots' beside them.
    for users in profile.concurrency_users:
        for kind in CONCURRENCY_KINDS:
            for latency in profile.concurrency_latencies:
                pipelined(kind, users, latency, f"{latency * 1000:g} ms", f"{latency * 1000:g}ms")
        if P99_LATENCY in profile.concurrency_latencies:
            pipelined("story-brief", users, P99_LATENCY, "one command each", "single", depth=1)
    # More rounds of the cells the throughput budgets compare, each round's back to back and
    # every other round in reverse, so that a machine slowing down (or speeding up) over the
    # minutes of a round favours neither end of the ratio.
    for round_number in range(2, profile.concurrency_rounds + 1):
        latencies = profile.concurrency_latencies
        for users in profile.concurrency_users:
            for latency in latencies if round_number % 2 else reversed(latencies):
                pipelined(
                    "story-brief",
                    users,
                    latency,
                    f"{latency * 1000:g} ms, round {round_number}",
                    f"{latency * 1000:g}ms-{round_number}",
                )
    for users in profile.light_users:
        pipelined(
            "story-brief",
            users,
            P99_LATENCY,
            "one command each (light load)",
            "light",
            depth=1,
        )
    # Bare PTB one update at a time would take a round trip per chat: minutes at 10,000.
    for kind in ("story-brief", "bare-ptb-concurrent"):
        progress(f"burst: {profile.burst_chats:,} /start, {kind}")
        results.bursts.append(
            run_burst(
                kind,
                latency=profile.burst_latency,
                chats=profile.burst_chats,
                workdir=fresh(f"burst-{kind}"),
                replies=replies,
                settle=profile.settle,
            )
        )


def _rotate(turn: int, kinds: tuple[Kind, ...]) -> list[Kind]:
    """``kinds`` starting one further on each turn: each runs first, middle and last."""
    shift = turn % len(kinds)
    return [*kinds[shift:], *kinds[:shift]]


def machine(postgres: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory = 0
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "memory_bytes": memory,
        "python": platform.python_version(),
        "python_telegram_bot": telegram.__version__,
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "postgresql": _postgres_version(postgres) if postgres else None,
    }


def _postgres_version(url: str) -> str:
    async def version() -> str:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return str((await connection.execute(text("SHOW server_version"))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(version())


# -- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its baseline, the ratio, the budget and the verdict."""

    figure: str
    ours: str
    baseline: str = ""
    ratio: str = ""
    budget: str = ""
    met: bool | None = None
    """None: no budget for this figure."""
    limit: str = ""
    """What bounds this figure: Telegram's limits, PTB, or our code."""

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("met" if self.met else "MISSED")


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.1f} ms"


def _mb(size: float) -> str:
    return "n/a" if math.isnan(size) else f"{size / MIB:.1f} MiB"


def _x(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def _check(value: float, good: Callable[[float], bool]) -> bool:
    return not math.isnan(value) and good(value)


def table(results: Results) -> list[Row]:
    """The rows of the table, from whatever sections ran."""
    rows: list[Row] = []
    rows += _start_rows(results.starts)
    rows += _reply_rows(results.replies)
    rows += _broadcast_rows(results.broadcasts)
    rows += _memory_rows(results.memory)
    rows += _content_rows(results.content, results.reloads)
    rows += _answering_rows(results.answering)
    rows += _pipelined_rows(results.pipelined)
    rows += _burst_rows(results.bursts)
    rows += _page_rows(results.page, results.inline)
    rows += _long_day_rows(results.long_day)
    return rows


def _start_rows(starts: list[StartRun]) -> list[Row]:
    if not starts:
        return []

    def warm(kind: Kind) -> list[StartRun]:
        return [run for run in starts if run.kind == kind and not run.cold]

    ours_start = median([run.start_seconds for run in warm("story-brief")])
    base_start = median([run.start_seconds for run in warm("bare-ptb")])
    ours_rss = median([run.idle_rss for run in warm("story-brief")])
    base_rss = median([run.idle_rss for run in warm("bare-ptb")])
    cold = [run.start_seconds for run in starts if run.cold]
    start_ratio, rss_ratio = ratio(ours_start, base_start), ratio(ours_rss, base_rss)
    return [
        Row(
            "start → first getUpdates (restart)",
            _ms(ours_start),
            _ms(base_start),
            _x(start_ratio),
            "≤ 1.3x",
            _check(start_ratio, lambda r: r <= 1.3),
            "ours: imports, digest validation, store migration check",
        ),
        Row(
            "start → first getUpdates (first start, new database)",
            _ms(median(cold)),
            _ms(base_start),
            _x(ratio(median(cold), base_start)),
            limit="ours: + creating the schema and publishing version 1",
        ),
        Row(
            "idle RSS",
            _mb(ours_rss),
            _mb(base_rss),
            _x(rss_ratio),
            "≤ 1.3x",
            _check(rss_ratio, lambda r: r <= 1.3),
            "ours: the modules imported (SQLAlchemy, Jinja2, pydantic …)",
        ),
        *_stack_rows(starts, ours_start, ours_rss),
    ]


def _stack_rows(starts: list[StartRun], ours_start: float, ours_rss: float) -> list[Row]:
    stack = [run for run in starts if run.kind == "bare-ptb-stack"]
    if not stack:
        return []
    stack_start = median([run.start_seconds for run in stack])
    stack_rss = median([run.idle_rss for run in stack])
    return [
        Row(
            "  against bare PTB importing our libraries: start; idle RSS",
            f"{_ms(ours_start)}; {_mb(ours_rss)}",
            f"{_ms(stack_start)}; {_mb(stack_rss)}",
            f"{_x(ratio(ours_start, stack_start))}; {_x(ratio(ours_rss, stack_rss))}",
            limit="the libraries: " + ", ".join(STACK_MODULES),
        )
    ]


def _reply_rows(replies: list[ReplyRun]) -> list[Row]:
    rows: list[Row] = []
    for latency in sorted({run.latency for run in replies}):

        def runs(kind: Kind, latency: float = latency) -> list[ReplyRun]:
            return [run for run in replies if run.kind == kind and run.latency == latency]

        ours, base = runs("story-brief"), runs("bare-ptb")
        users = ours[0].users if ours else base[0].users if base else 0
        label = f"@ {latency * 1000:g} ms, {users} users"
        ours_rate = median([run.replies_per_second for run in ours])
        base_rate = median([run.replies_per_second for run in base])
        bound = (
            "PTB: one update at a time, each waiting for its reply's round trip"
            if latency > 0
            else "CPU: PTB and httpx per update, plus our render; one core"
        )
        throughput = ratio(ours_rate, base_rate)
        rows.append(
            Row(
                f"replies/s {label}",
                f"{ours_rate:.1f}",
                f"{base_rate:.1f}",
                _x(throughput),
                "≥ 0.9x",
                _check(throughput, lambda r: r >= 0.9),
                bound,
            )
        )
        ours_cpu = median([r.cpu_per_reply for r in ours])
        base_cpu = median([r.cpu_per_reply for r in base])
        rows.append(
            Row(
                f"CPU per reply {label}",
                _ms(ours_cpu),
                _ms(base_cpu),
                _x(ratio(ours_cpu, base_cpu)),
                limit="the bot process: PTB, httpx, our handlers",
            )
        )
        ours_p50, base_p50 = median([r.p50 for r in ours]), median([r.p50 for r in base])
        rows.append(
            Row(
                f"p50 update→reply {label}",
                _ms(ours_p50),
                _ms(base_p50),
                _x(ratio(ours_p50, base_p50)),
                limit=bound,
            )
        )
        ours_p99, base_p99 = median([r.p99 for r in ours]), median([r.p99 for r in base])
        p99 = ratio(ours_p99, base_p99)
        rows.append(
            Row(
                f"p99 update→reply {label}",
                _ms(ours_p99),
                _ms(base_p99),
                _x(p99),
                "≤ 1.2x",
                _check(p99, lambda r: r <= 1.2),
                bound,
            )
        )
        same = runs("bare-ptb-same")
        if same:
            same_rate = median([run.replies_per_second for run in same])
            same_cpu = median([run.cpu_per_reply for run in same])
            same_p99 = median([run.p99 for run in same])
            rows.append(
                Row(
                    f"  against bare PTB sending our replies {label}",
                    f"{ours_rate:.1f}/s; CPU {_ms(ours_cpu)}; p99 {_ms(ours_p99)}",
                    f"{same_rate:.1f}/s; CPU {_ms(same_cpu)}; p99 {_ms(same_p99)}",
                    f"{_x(ratio(ours_rate, same_rate))}; p99 {_x(ratio(ours_p99, same_p99))}",
                    limit="what is left is ours; the rest of the gap above is PTB on our messages",
                )
            )
    return rows


def _broadcast_rows(broadcasts: list[BroadcastRun]) -> list[Row]:
    rows: list[Row] = []
    floors = {
        (run.rate, run.latency, run.subscribers): run
        for run in broadcasts
        if run.kind == "bare-ptb-broadcast"
    }
    for run in broadcasts:
        if run.kind != "story-brief":
            continue
        label = (
            f"broadcast {run.rate:g}/s{' paid' if run.paid else ''} to {run.subscribers:,}"
            f" @ {run.latency * 1000:g} ms ({run.database})"
        )
        good = (
            _check(run.achieved_ratio, lambda r: r >= 0.97)
            and run.refused_429 == 0
            and run.lost == 0
            and run.duplicates == 0
        )
        rows.append(
            Row(
                label,
                f"{run.achieved:.1f}/s; 429s {run.refused_429}, lost {run.lost}, "
                f"duplicates {run.duplicates}; busiest second {run.busiest_window}; "
                f"CPU {_ms(run.cpu_per_message)}/message",
                f"{run.rate:g}/s configured",
                _x(run.achieved_ratio),
                "≥ 0.97x, no 429, none lost or twice",
                good,
                "Telegram's limit, less our 3% margin; above that, CPU (one core)",
            )
        )
        floor = floors.get((run.rate, run.latency, run.subscribers))
        if floor is not None:
            rows.append(
                Row(
                    "  the floor: bare PTB sending the same, nothing stored",
                    f"{floor.achieved:.1f}/s ({_x(floor.achieved_ratio)} of configured); "
                    f"429s {floor.refused_429}, lost {floor.lost}; "
                    f"CPU {_ms(floor.cpu_per_message)}/message",
                    "ours against it",
                    _x(ratio(run.achieved, floor.achieved)),
                    limit="PTB + httpx on one core of this machine",
                )
            )
    return rows


def _memory_rows(memory: list[MemoryRun]) -> list[Row]:
    rows: list[Row] = []
    for engine in sorted({run.database for run in memory}):
        runs = sorted(
            (run for run in memory if run.database == engine), key=lambda r: r.subscribers
        )
        for run in runs:
            rows.append(
                Row(
                    f"RSS after enqueuing a broadcast to {run.subscribers:,} ({engine})",
                    f"{_mb(run.enqueued_rss)} (peak {_mb(run.peak_rss)})",
                    f"{_mb(run.idle_rss)} idle before",
                    limit=f"/reload took {run.reload_seconds:.2f} s",
                )
            )
        if len(runs) >= 2:
            small, big = runs[0], runs[-1]
            growth = big.enqueued_rss - small.enqueued_rss
            peak = big.peak_rss - small.peak_rss
            rows.append(
                Row(
                    f"RSS growth {small.subscribers:,} → {big.subscribers:,} ({engine})",
                    f"{_mb(growth)} (peak {_mb(peak)})",
                    budget="< 20 MB",
                    met=growth < GROWTH_BUDGET,
                    limit="ours: the ledger stays in the database",
                )
            )
    return rows


def _content_rows(content: ContentTimes | None, reloads: list[ReloadTimes]) -> list[Row]:
    rows: list[Row] = []
    if content is not None:
        rows.append(Row("digest load + validate", _ms(content.load_validate), limit="ours"))
        rows.append(Row("digest diff", _ms(content.diff), limit="ours"))
        rows.append(
            Row("answer engine build (part of the swap)", _ms(content.answer_engine), limit="ours")
        )
    for reload in reloads:
        rows.append(
            Row(
                f"/reload validate + diff + swap ({reload.database})",
                _ms(reload.validate_diff_swap),
                budget="≤ 50 ms",
                met=reload.validate_diff_swap <= 0.050,
                limit="ours",
            )
        )
        rows.append(
            Row(
                f"/reload publish, {reload.subscribers:,} subscribers ({reload.database})",
                _ms(reload.publish),
                limit=f"the database; whole /reload {_ms(reload.total)}",
            )
        )
    if content is not None:
        for name, seconds in content.render.items():
            rows.append(Row(f"render {name}", _ms(seconds), limit="ours: Jinja2 + split"))
    return rows


def _answering_rows(answering: AnswerTimes | None) -> list[Row]:
    if answering is None:
        return []
    where = f"ours: {answering.questions} evaluation questions, all digests"
    return [
        Row("answer a question (median)", _ms(answering.median), limit=where),
        Row(
            "answer a question (p99)",
            _ms(answering.p99),
            budget=f"≤ {P99_BUDGET * 1000:.0f} ms",
            met=answering.p99 <= P99_BUDGET,
            limit=where,
        ),
    ]


ROUND_TRIPS_BUDGET = 4
"""p99 update→reply at 50 ms: at most this many Bot API round trips (while the CPU is free)."""
BURST_RSS_BUDGET = 30_000_000
"""Bytes above idle during the burst: the budget's 30 MB, in decimal megabytes."""


POLL_BATCH = 100
"""Updates one getUpdates returns at most (Telegram's limit)."""


def _load_ceiling(run: PipelinedRun, latency: float) -> float:
    """The most replies a second the load itself allows at ``latency``, whatever the bot.

    Every command needs two Bot API round trips at least, the getUpdates that brings it and
    the sendMessage that answers it, so ``users * depth`` commands in flight make at most
    that many every two round trips; and polling brings at most 100 updates a round trip.
    """
    if latency <= 0:
        return math.inf
    return min(run.users * run.depth / (2 * latency), POLL_BATCH / latency)


def _single_p99_row(run: PipelinedRun, zero_rate: float) -> Row:
    """The p99 budget, on users with one command each: no wait behind one's own command.

    Judged only where the load cannot saturate the CPU: when the users could ask for more
    than the bot does at 0 ms (``zero_rate``), commands queue whatever the bot, and the
    latency is the queue's (1,000 users at 4 round trips would need 5,000 replies a second).
    """
    round_trips = ratio(run.p99, run.latency)
    saturated = run.cpu_share >= SATURATED or _load_ceiling(run, run.latency) >= 0.9 * zero_rate
    return Row(
        f"concurrent p99 update→reply @ {run.latency * 1000:g} ms, {run.users:,} users, "
        "one command each",
        f"{_ms(run.p99)} ({round_trips:.1f} round trips; p50 {_ms(run.p50)}; "
        f"{run.replies_per_second:.1f}/s, CPU {run.cpu_share:.0%})",
        budget=f"≤ {ROUND_TRIPS_BUDGET} round trips while the CPU is not the bound",
        met=None if saturated else _check(round_trips, lambda r: r <= ROUND_TRIPS_BUDGET),
        limit="CPU-bound: queueing, no verdict" if saturated else "the round trips",
    )


def _paired_ratio(zero: Sequence[PipelinedRun], far: Sequence[PipelinedRun]) -> list[float]:
    """Each round's replies a second at a latency over the same round's at 0 ms.

    The i-th run of each cell is round i's (the suite runs a round's cells back to back).
    The ratio of the medians would set a run of one minute against a run of another, and
    this VM's pace drifts by a third between rounds minutes apart: paired, the drift that a
    round's few seconds share cancels out of its ratio. The budget is judged on the median
    of these; the ratio of the medians is shown beside it.
    """
    if len(zero) != len(far):  # not rounds of one suite: nothing to pair
        return []
    return [
        ratio(run.replies_per_second, base.replies_per_second)
        for base, run in zip(zero, far, strict=True)
    ]


def _pipelined_rows(runs: list[PipelinedRun]) -> list[Row]:
    rows: list[Row] = []

    def every(kind: Kind, users: int, latency: float, depth: int = DEPTH) -> list[PipelinedRun]:
        return [
            r
            for r in runs
            if r.kind == kind and r.users == users and r.latency == latency and r.depth == depth
        ]

    def one(kind: Kind, users: int, latency: float, depth: int = DEPTH) -> PipelinedRun | None:
        """The run of a cell; of several rounds, the one with the median replies a second."""
        found = sorted(every(kind, users, latency, depth), key=lambda r: r.replies_per_second)
        return found[len(found) // 2] if found else None

    # What the core does with no latency at all, the most of any load: the light loads,
    # which have no 0 ms run of their own, are judged against it.
    capacity = max(
        (r.replies_per_second for r in runs if r.kind == "story-brief" and r.latency == 0.0),
        default=math.nan,
    )
    for users in sorted({run.users for run in runs}):
        at_zero = one("story-brief", users, 0.0)
        for latency in sorted({run.latency for run in runs if run.users == users}):
            ours = one("story-brief", users, latency)
            serial = one("bare-ptb-same", users, latency)
            loose = one("bare-ptb-concurrent", users, latency)
            if ours is None:
                light = one("story-brief", users, latency, depth=1)
                if light is not None:
                    rows.append(_single_p99_row(light, capacity))
                continue
            label = f"@ {latency * 1000:g} ms, {users:,} users, {ours.depth} in flight each"
            zero_rate = math.nan if at_zero is None else at_zero.replies_per_second
            ceiling = _load_ceiling(ours, latency)
            # The CPU is the bound when a core is busy, or when the bot already does what it
            # does with no latency at all: then latency is the queue's, not the round trips'.
            saturated = ours.cpu_share >= SATURATED or ours.replies_per_second >= 0.9 * zero_rate
            rounds = [r.replies_per_second for r in every("story-brief", users, latency)]
            paired = _paired_ratio(
                every("story-brief", users, 0.0), every("story-brief", users, latency)
            )
            # With one round the pair and the medians are the same runs: one ratio to show.
            judged = (
                median(paired) if len(paired) > 1 else ratio(ours.replies_per_second, zero_rate)
            )
            budget, met, bound = "", None, "CPU (one core): PTB, httpx, our handlers"
            if latency > 0 and not saturated:
                bound = "the round trips: each command's getUpdates and sendMessage"
            if latency > 0:
                budget = "≥ 0.9x of 0 ms"
                if ceiling < 0.9 * zero_rate:
                    budget, bound = (
                        "",
                        f"the load, not the bot: at most {ceiling:.0f}/s "
                        + (
                            "(getUpdates: 100 updates a round trip)"
                            if ceiling == POLL_BATCH / latency
                            else f"({users * ours.depth} in flight, 2 round trips each)"
                        ),
                    )
                else:
                    met = judged >= 0.9
            rows.append(
                Row(
                    f"concurrent replies/s {label}",
                    f"{ours.replies_per_second:.1f} ("
                    + (
                        f"median of {len(rounds)}: {', '.join(f'{r:.0f}' for r in rounds)}; "
                        if len(rounds) > 1
                        else ""
                    )
                    + f"CPU {ours.cpu_share:.0%} of a core; "
                    # One getUpdates at a time, at most 100 updates each: the poll's pace
                    # bounds the rate when a poll brings nearly 100.
                    + f"a getUpdates every {_ms(ours.poll_interval)}, "
                    + f"{ours.replies_per_poll:.0f} replies a poll"
                    + (
                        f"; {_x(judged)} of 0 ms"
                        + (
                            f" (median of rounds paired: {', '.join(f'{r:.2f}' for r in paired)};"
                            f" ratio of the medians {_x(ratio(ours.replies_per_second, zero_rate))})"
                            if len(paired) > 1
                            else ""
                        )
                        + ")"
                        if latency > 0
                        else ")"
                    ),
                    "" if serial is None else f"{serial.replies_per_second:.1f} one at a time",
                    ""
                    if serial is None
                    else _x(ratio(ours.replies_per_second, serial.replies_per_second)),
                    budget,
                    met,
                    bound
                    + (
                        ""
                        if loose is None
                        else f"; bare PTB concurrent_updates=256: {loose.replies_per_second:.1f}/s"
                    ),
                )
            )
            round_trips = ratio(ours.p99, latency) if latency > 0 else math.nan
            rows.append(
                Row(
                    f"concurrent p99 update→reply {label}",
                    _ms(ours.p99)
                    + ("" if math.isnan(round_trips) else f" ({round_trips:.1f} round trips)"),
                    "" if serial is None else f"{_ms(serial.p99)} one at a time",
                    "" if serial is None else _x(ratio(ours.p99, serial.p99)),
                    limit=("CPU-bound: queueing; " if saturated and latency > 0 else "")
                    + ("" if loose is None else f"bare PTB concurrent: {_ms(loose.p99)}"),
                )
            )
            single = one("story-brief", users, latency, depth=1)
            if single is not None:
                rows.append(_single_p99_row(single, zero_rate))
    if runs:
        # One command per chat cannot come out of order: those runs are not counted here.
        ours_runs = [r for r in runs if r.kind == "story-brief" and r.depth > 1]
        checked = sum(r.ordered_replies for r in ours_runs)
        wrong = sum(r.out_of_order for r in ours_runs)
        loose_runs = [r for r in runs if r.kind == "bare-ptb-concurrent"]
        serial_runs = [r for r in runs if r.kind == "bare-ptb-same"]
        rows.append(
            Row(
                "replies out of order within a chat, every run",
                f"{wrong} of {checked:,}",
                f"one at a time {sum(r.out_of_order for r in serial_runs)} of "
                f"{sum(r.ordered_replies for r in serial_runs):,}; concurrent_updates "
                f"{sum(r.out_of_order for r in loose_runs)} of "
                f"{sum(r.ordered_replies for r in loose_runs):,}",
                budget="0",
                met=wrong == 0,
                limit="ours: each chat's updates wait for the one before",
            )
        )
    return rows


def _burst_rows(bursts: list[BurstRun]) -> list[Row]:
    rows: list[Row] = []
    floor = {run.latency: run for run in bursts if run.kind == "bare-ptb-concurrent"}
    for run in bursts:
        if run.kind != "story-brief":
            continue
        other = floor.get(run.latency)
        rows.append(
            Row(
                f"burst: {run.chats:,} /start from {run.chats:,} chats @ {run.latency * 1000:g} ms",
                f"{run.replies_per_second:.1f}/s; p99 {_ms(run.p99)}; lost {run.lost}",
                ""
                if other is None
                else f"bare PTB concurrent: {other.replies_per_second:.1f}/s; "
                f"p99 {_ms(other.p99)}; lost {other.lost}",
                ""
                if other is None
                else _x(ratio(run.replies_per_second, other.replies_per_second)),
                "none lost",
                run.lost == 0 and run.replies >= run.chats,
                "ours: store writes per /start, one core",
            )
        )
        rows.append(
            Row(
                f"burst: RSS above idle during {run.chats:,} /start",
                _mb(run.rss_above_idle),
                "" if other is None else f"{_mb(other.rss_above_idle)} bare PTB concurrent",
                budget="< 30 MB",
                met=run.rss_above_idle < BURST_RSS_BUDGET,
                limit="ours: every update admitted at once, waiting on a semaphore",
            )
        )
    return rows


PAGE_BYTES_BUDGET = 60_000
"""Bytes the story page may transfer before Telegram's script (the issue's 60 KB)."""
PAGE_RENDER_BUDGET = 0.300


def _page_rows(page: PageRun | None, inline: InlineRun | None) -> list[Row]:
    rows: list[Row] = []
    if page is not None:
        gzip_note = "by the server" if page.gzip_by_server else "computed: the server sends it raw"
        rows.append(
            Row(
                "story page: bytes transferred (Chromium, before Telegram's script)",
                f"{page.browser_transferred / 1000:.1f} kB",
                f"raw {page.raw_bytes / 1000:.1f} kB; gzip {page.gzip_bytes / 1000:.1f} kB "
                f"({gzip_note})",
                budget="< 60 KB",
                met=page.browser_transferred < PAGE_BYTES_BUDGET and not page.refused,
                limit=f"ours: one server-rendered document; outside requests {len(page.refused)}",
            )
        )
        rows.append(
            Row(
                "story page: navigation start → load (headless Chromium, loopback)",
                f"{_ms(page.load)} (DOMContentLoaded {_ms(page.dom_content_loaded)}; "
                f"worst {_ms(page.load_worst)})",
                f"median of {page.loads} cold opens",
                budget="≤ 300 ms",
                met=_check(page.load, lambda s: s <= PAGE_RENDER_BUDGET),
                limit="Chromium's parse and layout of our document",
            )
        )
    if inline is not None:
        rows.append(
            Row(
                f"inline answers/s @ {inline.latency * 1000:g} ms, {inline.users} users",
                f"{inline.inline_per_second:.1f} (p99 {_ms(inline.inline_p99)}; "
                f"unanswered {inline.inline_unanswered})",
                f"{inline.replies_per_second:.1f} replies/s, same process and users",
                _x(ratio(inline.inline_per_second, inline.replies_per_second)),
                limit="ours: the answer engine and up to ten cited cards per query",
            )
        )
    return rows


LONG_DAY_GROWTH_BUDGET = 10_000_000
"""Bytes of resident memory the long day may add after its warm-up (10 MB, decimal)."""


def _long_day_rows(day: LongDayRun | None) -> list[Row]:
    if day is None:
        return []
    label = (
        f"long day: {day.updates:,} updates from {day.subscribers:,} users, "
        f"{day.broadcasts} broadcasts to them all"
    )
    start, warm, end = day.at_start, day.after_warmup, day.at_end
    return [
        Row(
            f"{label}: RSS growth after warm-up",
            _mb(day.rss_growth),
            f"{_mb(start.rss)} at start, {_mb(warm.rss)} after warm-up, then "
            + ", ".join(_mb(probe.rss) for probe in [*day.during, end]),
            budget="< 10 MB",
            met=day.rss_growth < LONG_DAY_GROWTH_BUDGET,
            limit=f"ours; the day took {day.seconds:.0f} s",
        ),
        Row(
            "  asyncio tasks; open file descriptors: at start, after warm-up, at the end",
            f"{start.tasks}, {warm.tasks}, {end.tasks}; {start.fds}, {warm.fds}, {end.fds}",
            budget="end ≤ after warm-up",
            met=end.tasks <= warm.tasks and end.fds <= warm.fds,
            limit="ours: tasks per update end with it; pooled connections are reused",
        ),
        Row(
            "  error lines logged; broadcasts complete",
            f"{len(day.error_lines)}; {'yes' if day.complete else 'NO'} "
            f"(notified {', '.join(map(str, day.notified))})",
            "each broadcast's last update after "
            + ", ".join(f"{seconds:.1f} s" for seconds in day.broadcast_seconds),
            budget="0; every subscriber every update once",
            met=not day.error_lines and day.complete and day.unanswered == 0,
            limit=f"warnings logged: {day.warning_lines}; unanswered {day.unanswered}",
        ),
    ]


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    header = ("figure", "Story Brief", "baseline", "ratio", "budget", "verdict", "bound by")
    lines = [header] + [
        (row.figure, row.ours, row.baseline, row.ratio, row.budget, row.verdict, row.limit)
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    out = [render(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [render(line) for line in lines[1:]]
    return "\n".join(out)


# -- the command line ----------------------------------------------------------------------


def _milliseconds(text: str) -> tuple[float, ...]:
    return tuple(float(part) / 1000 for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Story Brief's benchmarks beside a bare python-telegram-bot bot.",
    )
    parser.add_argument(
        "--size",
        choices=sorted(PROFILES),
        default="full",
        help="how big and long: full (the issue's sizes, about 6 minutes), quick (about 1.5 "
        "minutes), smoke (about 15 seconds; what the test run uses)",
    )
    parser.add_argument("--quick", action="store_true", help="same as --size quick")
    parser.add_argument(
        "--latency",
        type=_milliseconds,
        help="latencies of the Bot API double for the reply path, in ms (default 0,50)",
    )
    parser.add_argument(
        "--broadcast-latency",
        type=_milliseconds,
        help="latencies for the broadcasts, in ms (default 50)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
        default=SECTIONS,
        help=f"sections to run, comma-separated: {','.join(SECTIONS)} (default all)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BOT_TEST_DATABASE_URL"),
        help="PostgreSQL server URL for its figures; a database is made and dropped "
        "(default $BOT_TEST_DATABASE_URL; none: SQLite only)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the results (default {DEFAULT_JSON})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs, databases)"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample each bot of the reply and broadcast runs with py-spy (raw stacks in DIR; "
        "read them with python -m tests.benchmarks.hotspots); sampling slows the bots a little",
    )
    arguments = parser.parse_args(argv)
    unknown = set(arguments.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    profile = QUICK if arguments.quick else PROFILES[arguments.size]
    if arguments.latency:
        profile = replace(profile, latencies=arguments.latency)
    if arguments.broadcast_latency:
        profile = replace(profile, broadcast_latencies=arguments.broadcast_latency)

    workdir = Path(tempfile.mkdtemp(prefix="story-brief-bench-"))
    started = datetime.now(UTC)
    try:
        results = run_suite(
            profile,
            workdir,
            postgres=arguments.postgres or None,
            sections=arguments.only,
            progress=lambda line: print(f"… {line}", file=sys.stderr, flush=True),
            profile_dir=arguments.py_spy,
        )
    finally:
        if arguments.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = table(results)
    document = {
        "command": [
            "python",
            "-m",
            "tests.benchmarks",
            *(argv if argv is not None else sys.argv[1:]),
        ],
        "started_at": started.isoformat(timespec="seconds"),
    } | results.as_json()
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    info = results.machine
    print(
        f"\nStory Brief benchmarks ({profile.name}), {started:%Y-%m-%d %H:%M} UTC, "
        f"{results.seconds:.0f} s: {info['nproc']} CPU ({info['cpu']}), "
        f"{info['memory_bytes'] / 2**30:.1f} GiB, Python {info['python']}, "
        f"python-telegram-bot {info['python_telegram_bot']}, SQLite {info['sqlite']}\n"
    )
    print(format_table(rows))
    for line in results.skipped:
        print(f"skipped: {line}")
    missed = [row.figure for row in rows if row.met is False]
    print(f"\nbudgets: {sum(row.met is True for row in rows)} met, {len(missed)} missed")
    print(f"JSON: {arguments.json}")
    return 0
