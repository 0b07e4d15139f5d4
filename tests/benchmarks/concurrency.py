"""Concurrency: how much of the Bot API's latency each bot hides, and whether chats keep order.

Three bots, each sending Story Brief's own replies (so every reply tells which command it
answers): Story Brief (updates of different chats at once, each chat's in order), bare PTB
with its default settings (one update at a time) and bare PTB with
``concurrent_updates=256`` (at once, chats' order not kept).

* **Pipelined load** (:func:`run_pipelined`): ``users`` chats each keep ``depth`` commands in
  flight (two by default: with one, no reply could ever overtake another), sending the next
  as soon as one is answered. Replies per second and p99 update→reply over the measured
  window, as in the reply path; the bot's CPU share of one core in the window (the 4-round-
  trip budget for p99 holds only while that is below :data:`SATURATED`); and every reply
  matched to its command: those that overtook an earlier command of their chat are counted.
* **Burst** (:func:`run_burst`): ``chats`` chats send one ``/start`` each, all queued at
  once. Replies per second from the first queued update to the last reply, p99, updates
  with no reply (lost), and the most resident memory above idle while the burst lasts,
  sampled every :data:`RSS_SAMPLE` seconds.

A round trip is one Bot API call: the double holds each for its ``latency``.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble, harness_gc_paused
from tests.benchmarks.figures import BurstRun, PipelinedRun
from tests.benchmarks.procs import TOKEN, BotProcess, Kind, spawn
from tests.benchmarks.reply import Load, run_load, stop_loaded

KINDS: tuple[Kind, ...] = ("story-brief", "bare-ptb-same", "bare-ptb-concurrent")
DEPTH = 2
P99_LATENCY = 0.05
"""The latency of the p99 budget: there Story Brief runs once more with one command per user,
since with two the second waits a round trip for the first by design."""
DRAIN_TIMEOUT = 10.0
"""Seconds to wait for the commands still in flight after the window: a bot that handles
one update at a time at 150 ms with 2,000 of them queued would take minutes; those left are
reported as queued at the stop, not lost."""
BURST_TIMEOUT = 300.0
RSS_SAMPLE = 0.02
SATURATED = 0.9
"""CPU share of one core above which the bot is CPU-bound: latency is then the queue's."""
BURST_FIRST_CHAT = 7_000_001


def _settings(kind: Kind, workdir: Path, replies: Path) -> dict[str, str]:
    if kind == "story-brief":
        return {"BOT_DATABASE_URL": Database.sqlite(workdir / "state.sqlite3").url}
    return {"BASELINE_REPLIES": str(replies)}


def _expected(replies: Path) -> dict[str, str]:
    captured: dict[str, dict[str, Any]] = json.loads(replies.read_text(encoding="utf-8"))
    return {command: str(reply["text"]) for command, reply in captured.items()}


def run_pipelined(
    kind: Kind,
    load: Load,
    *,
    workdir: Path,
    replies: Path,
    depth: int = DEPTH,
    settle: float = 0.5,
) -> PipelinedRun:
    """Start ``kind``, put ``load`` on it with ``depth`` commands in flight per user, stop it;
    the figures.

    ``replies``: what :func:`tests.benchmarks.reply.capture_replies` wrote; the bare bots
    send those, and every bot's replies are matched to their commands with it.
    """
    window, exchanges, api = run_load(
        kind,
        _settings(kind, workdir, replies),
        load,
        workdir=workdir,
        settle=settle,
        drain_timeout=DRAIN_TIMEOUT,
        depth=depth,
        replies=_expected(replies),
    )
    answered = window.answered_in(exchanges)
    polls = [
        call.time
        for call in api.calls
        if call.method == "getUpdates" and window.start <= call.time <= window.end
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    return PipelinedRun.measured(
        window,
        answered,
        window.latencies(exchanges),
        api,
        kind=kind,
        load=load,
        depth=depth,
        cpu_share=window.cpu / load.seconds,
        ordered_replies=api.ordered_replies,
        out_of_order=api.out_of_order,
        queued_at_stop=window.outstanding,
        poll_interval=statistics.median(gaps) if gaps else math.nan,
        replies_per_poll=len(answered) / len(polls) if polls else math.nan,
    )


class _RssSampler:
    """The most resident memory of a process, read every :data:`RSS_SAMPLE` seconds."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.most = max(self.most, self.bot.rss())
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(RSS_SAMPLE)


def run_burst(
    kind: Kind,
    *,
    latency: float,
    chats: int,
    workdir: Path,
    replies: Path,
    settle: float = 1.0,
) -> BurstRun:
    """``chats`` chats send /start at once; wait for every reply (or the timeout)."""
    with BenchDouble(TOKEN, latency=latency) as api, harness_gc_paused():
        bot = spawn(kind, api, workdir, **_settings(kind, workdir, replies))
        try:
            bot.wait_ready(api)
            time.sleep(settle)  # start-up calls done, memory settled
            idle = bot.rss()
            with _RssSampler(bot) as sampler:
                began = time.monotonic()
                # One /start per chat, none after it: the load ends as it begins.
                api.start_load(
                    range(BURST_FIRST_CHAT, BURST_FIRST_CHAT + chats),
                    lambda chat, turn: "/start",
                    until=began,
                )
                deadline = began + BURST_TIMEOUT
                while api.outstanding() and time.monotonic() < deadline:
                    if bot.process.poll() is not None:
                        break
                    time.sleep(0.02)
            lost = api.outstanding()
        finally:
            stop_loaded(bot)
        exchanges = list(api.exchanges)
    last = max((e.answered for e in exchanges), default=began)
    return BurstRun.counted(
        api,
        kind=kind,
        latency=latency,
        seconds=last - began,
        replies=len(exchanges),
        latencies=[e.latency for e in exchanges],
        chats=chats,
        lost=lost,
        idle_rss=idle,
        burst_rss=max(sampler.most, idle),
    )
