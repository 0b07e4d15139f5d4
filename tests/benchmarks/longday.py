"""A long day in one run: many updates from many users, and broadcasts, against the double.

Compressed in time: ``subscribers`` chats are seeded as subscribers and are the users too;
each keeps one command in flight (sections, ``/source N``, questions, ``/start``,
``/status``), the next sent as soon as the reply arrives, ``updates`` commands in all.
Meanwhile the admin edits the digest and sends ``/reload`` ``broadcasts`` times: the first
before the users start, the others evenly through the day, each once the one before has
reached every subscriber. The bot sends at 1000/s paid (the double's limits off: replies
to users are not a broadcast).

The bot is ``python -m bot`` with a probe (``probed_bot.py``): on SIGUSR1 it reports its
asyncio tasks, open file descriptors and resident memory. Read at start, after the warm-up
(the first broadcast, alone, then the first :data:`WARMUP_SHARE` of the updates: the
sender's connection pools, the caches and the store's connections then exist) and at the
end, when the load has drained, every broadcast is complete and the bot has been left alone
for ``settle`` seconds. Figures: RSS growth from after the warm-up to the end, tasks and
fds at the same moments, the error lines the bot logged (ERROR, CRITICAL, tracebacks), and
each broadcast's notified count against the updates every subscriber received.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble, harness_gc_paused
from tests.benchmarks.figures import LongDayRun, Probe
from tests.benchmarks.procs import TOKEN, BotProcess, spawn
from tests.benchmarks.reply import COMMANDS, paragraph_count
from tests.benchmarks.scenario import ADMIN, admin_says, copy_seeds
from tests.broadcast_helpers import EDIT, notified

WARMUP_SHARE = 0.1
RATE = 1000
PROBE_TIMEOUT = 10.0
BROADCAST_TIMEOUT = 1800.0
"""How long the harness waits for a broadcast (or the load) before calling the day stalled.

Beside the full load of 10,000 users on a shared 2-core machine, a broadcast to 10,000 went
out at 13 a second in a quick run's rate: more than ten minutes."""
QUESTIONS = (
    "How many people were evacuated?",
    "Who said it?",
    "What happened next?",
)
ERROR_LINE = re.compile(r" (ERROR|CRITICAL) |^Traceback ")


def day_script(paragraphs: int) -> Callable[[int, int], str]:
    """A user's ``turn``-th text: mostly sections and paragraphs, some questions, a few
    /start and /status."""

    def text(chat: int, turn: int) -> str:
        step = chat + turn
        if step % 20 == 0:
            return "/start"
        if step % 20 == 10:
            return "/status"
        if step % 5 == 2:
            return QUESTIONS[step // 5 % len(QUESTIONS)]
        if step % 5 == 4:
            return f"/source {step // 5 % paragraphs + 1}"
        return COMMANDS[step % len(COMMANDS)]

    return text


class _Prober:
    def __init__(self, bot: BotProcess, path: Path) -> None:
        self.bot, self.path, self.seq = bot, path, 0

    def __call__(self) -> Probe:
        self.seq += 1
        self.bot.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + PROBE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                figures = json.loads(self.path.read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                figures = {"seq": 0}
            if figures["seq"] >= self.seq:
                return Probe(figures["tasks"], figures["fds"], figures["rss"])
            time.sleep(0.01)
        raise RuntimeError(f"the bot did not answer its probe:\n{self.bot.stderr()[-3000:]}")


def _toggle(digest: Path, turn: int) -> None:
    """Edit the digest one way on even turns, back on odd ones: each is a visible change."""
    old, new = EDIT if turn % 2 == 0 else EDIT[::-1]
    text = digest.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise RuntimeError(f"{old!r} must occur once in {digest}: update the benchmark's edit")
    digest.write_text(text.replace(old, new), encoding="utf-8")


def run_long_day(
    *,
    updates: int,
    subscribers: int,
    broadcasts: int,
    workdir: Path,
    settle: float = 1.0,
) -> LongDayRun:
    database = Database.sqlite(workdir / "state.sqlite3")
    digest = copy_seeds(workdir)
    database.seed(subscribers)
    users = database.subscribers(subscribers)
    probe_path = workdir / "probe.json"
    with BenchDouble(TOKEN) as api, harness_gc_paused():
        bot = spawn(
            "story-brief-probed",
            api,
            workdir,
            BOT_DATABASE_URL=database.url,
            BOT_DIGEST_PATH=str(digest),
            BOT_ADMIN_IDS=str(ADMIN),
            BOT_BROADCAST_RATE=str(RATE),
            BOT_PAID_BROADCAST="true",
            BENCH_PROBE_PATH=str(probe_path),
        )
        probe = _Prober(bot, probe_path)
        try:
            bot.wait_ready(api)
            time.sleep(settle)
            at_start = probe()
            began = time.monotonic()
            said: list[int] = []
            reloads: list[float] = []

            def broadcast(turn: int) -> None:
                _toggle(digest, turn)
                reloads.append(time.monotonic())
                # The admin's /reload waits its turn behind every user's command: with
                # 10,000 users each keeping one in flight, that is minutes on this machine.
                said.append(notified(admin_says(api, "/reload", timeout=BROADCAST_TIMEOUT)))

            # The warm-up walks every path once: a broadcast (its sender's connection pools),
            # then the first share of the updates (caches, the store's connections).
            broadcast(0)
            _wait(lambda: api.counted_total >= subscribers, bot)
            api.start_load(users, day_script(paragraph_count()), until=float("inf"), limit=updates)
            warmup = round(updates * WARMUP_SHARE)
            _wait(lambda: len(api.exchanges) >= warmup, bot)
            after_warmup = probe()
            during: list[Probe] = []
            for turn in range(1, broadcasts):
                # Evenly through what is left of the day, each after the one before is done.
                mark = warmup + (updates - warmup) * (turn - 1) // (broadcasts - 1)
                _wait(lambda: len(api.exchanges) >= mark, bot)  # noqa: B023 - called at once
                done = turn * subscribers
                _wait(lambda: api.counted_total >= done, bot)  # noqa: B023 - called at once
                during.append(probe())
                broadcast(turn)
            _wait(lambda: len(api.exchanges) >= updates, bot)
            _wait(lambda: api.counted_total >= broadcasts * subscribers, bot)
            seconds = time.monotonic() - began
            time.sleep(settle)
            at_end = probe()
            unanswered = api.outstanding()
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"the bot exited with {code}:\n{bot.stderr()[-3000:]}")
        delivered: dict[int, int] = {}
        for chat in users:
            count = api.counted.get(chat, 0)
            delivered[count] = delivered.get(count, 0) + 1
        replies = len(api.exchanges)
        violations = len(api.violations)
        sent = sorted(
            call.time
            for call in api.calls_to("sendMessage")
            if call.response_status == 200
            and str(call.params.get("text", "")).startswith(api.counted_prefix)
        )
    log = bot.stderr().splitlines()
    return LongDayRun(
        subscribers=subscribers,
        updates=replies,
        seconds=seconds,
        broadcasts=broadcasts,
        notified=said,
        broadcast_seconds=[
            sent[min(len(sent), (turn + 1) * subscribers) - 1] - at
            for turn, at in enumerate(reloads)
            if sent
        ],
        delivered_each=delivered,
        at_start=at_start,
        after_warmup=after_warmup,
        at_end=at_end,
        during=during,
        error_lines=[line for line in log if ERROR_LINE.search(line)],
        warning_lines=sum(" WARNING " in line for line in log),
        unanswered=unanswered,
        violations=violations,
    )


def _wait(done: Callable[[], bool], bot: BotProcess, timeout: float = BROADCAST_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if bot.process.poll() is not None:
            raise RuntimeError(f"the bot exited:\n{bot.stderr()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the long day stalled:\n{bot.stderr()[-3000:]}")
        time.sleep(0.02)
