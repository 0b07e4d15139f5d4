"""Reply path: many users at once, each sending a command and the next one when answered.

Closed loop: ``users`` private chats each send /summary, /quotes, /figures or /source N (in
turn, so every moment has the same mix), wait for the reply, and send the next command at
once. After ``warmup`` seconds, replies are counted for ``seconds``: replies per second is
the bot's throughput under that load, and the latency of a command is from the moment its
update was queued at the double to the moment the reply reached the double. The bare PTB
bot gets the same texts in the same order and answers each with one short message; as
"bare-ptb-same" it answers each with the very message Story Brief sends for it (text and
keyboard, captured from Story Brief by :func:`capture_replies`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import DEFAULT_DIGEST_PATH
from bot.digest import load_digest
from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble, Exchange, harness_gc_paused
from tests.benchmarks.figures import ReplyRun
from tests.benchmarks.procs import TOKEN, BotProcess, Kind, spawn

COMMANDS = ("/summary", "/quotes", "/figures")
FIRST_USER = 5_000_001
SETTLE = 0.5
"""Seconds after the first getUpdates before the load starts: start-up calls finish
(default)."""
DRAIN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Window:
    """The measured seconds of a closed-loop load, and what the bot did in and after them."""

    start: float
    """``time.monotonic()`` when counting began (after the warm-up)."""
    seconds: float
    cpu: float
    """CPU seconds the bot process used in the window."""
    outstanding: int
    """Commands still unanswered when the drain after the window gave up."""

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def answered_in(self, exchanges: Sequence[Exchange]) -> list[Exchange]:
        """The replies that reached the double within the window: its throughput."""
        return [e for e in exchanges if self.start <= e.answered < self.end]

    def latencies(self, exchanges: Sequence[Exchange]) -> list[float]:
        """The latencies of the commands sent within the window: its percentiles."""
        return [e.latency for e in exchanges if self.start <= e.sent < self.end]


@dataclass(frozen=True)
class Load:
    """A closed-loop load: ``users`` chats sending to a double that holds each Bot API call
    for ``latency``, warmed up for ``warmup`` seconds and then counted for ``seconds``."""

    latency: float
    users: int
    warmup: float
    seconds: float


def measure_load(
    api: BenchDouble,
    bot: BotProcess,
    script: Callable[[int, int], str],
    load: Load,
    *,
    drain_timeout: float,
    depth: int = 1,
    replies: Mapping[str, str] | None = None,
) -> Window:
    """Put ``load`` on ``bot``, its chats following ``script`` (``depth`` commands in flight
    each); wait up to ``drain_timeout`` for the replies to the commands still in flight."""
    start = time.monotonic() + load.warmup
    end = start + load.seconds
    chats = range(FIRST_USER, FIRST_USER + load.users)
    api.start_load(chats, script, end, depth=depth, replies=replies)
    time.sleep(max(0.0, start - time.monotonic()))
    cpu_from = bot.cpu_seconds()
    time.sleep(max(0.0, end - time.monotonic()))
    cpu = bot.cpu_seconds() - cpu_from
    api.stop_load()
    deadline = time.monotonic() + drain_timeout
    while api.outstanding() and time.monotonic() < deadline:
        time.sleep(0.01)
    return Window(start, load.seconds, cpu, api.outstanding())


def command_script(paragraphs: int) -> Callable[[int, int], str]:
    """The ``turn``-th text of chat ``chat``: the three sections and ``/source N`` in turn."""

    def text(chat: int, turn: int) -> str:
        step = chat + turn
        if step % 4 == 3:
            return f"/source {step // 4 % paragraphs + 1}"
        return COMMANDS[step % 4]

    return text


def paragraph_count() -> int:
    return len(load_digest(DEFAULT_DIGEST_PATH).article.paragraphs)


CAPTURE_CHAT = 4_000_001
CAPTURE_TIMEOUT = 30.0


def capture_replies(workdir: Path) -> Path:
    """Story Brief's reply to every command the load sends, as JSON for the bare bot."""
    commands = [*COMMANDS, *(f"/source {n}" for n in range(1, paragraph_count() + 1))]
    captured: dict[str, dict[str, Any]] = {}
    with BenchDouble(TOKEN) as api:
        bot = spawn(
            "story-brief",
            api,
            workdir,
            BOT_DATABASE_URL=Database.sqlite(workdir / "state.sqlite3").url,
        )
        try:
            bot.wait_ready(api)
            for count, command in enumerate(commands, start=1):
                api.send_text(CAPTURE_CHAT, command)
                reply = api.wait_for_messages(CAPTURE_CHAT, count, CAPTURE_TIMEOUT)[-1]
                captured[command] = {"text": reply.text, "reply_markup": reply.reply_markup}
        finally:
            bot.stop()
    path = workdir / "replies.json"
    path.write_text(json.dumps(captured, ensure_ascii=False), encoding="utf-8")
    return path


def stop_loaded(bot: BotProcess, queued: int = 0) -> None:
    """Stop the bot; one with updates still queued is killed.

    PTB handles every queued update before it stops: for the bot that handles one at a time
    with 2,000 queued at 150 ms, minutes during which nothing is measured any more.
    """
    if queued:
        bot.kill()
        return
    code = bot.stop()
    if code != 0:
        raise RuntimeError(f"{bot.kind} exited with {code}:\n{bot.stderr()[-3000:]}")


def run_load(
    kind: Kind,
    settings: Mapping[str, str],
    load: Load,
    *,
    workdir: Path,
    settle: float,
    drain_timeout: float,
    depth: int = 1,
    replies: Mapping[str, str] | None = None,
    profile: Path | None = None,
) -> tuple[Window, list[Exchange], BenchDouble]:
    """Start ``kind`` (with ``settings``) against a fresh double, put ``load`` on it with the
    command script (:func:`measure_load`), stop it; the window, every exchange, and the double (its
    counts of stray replies, violations and order).

    A bot that failed, or that still has commands queued, is killed (:func:`stop_loaded`).
    """
    script = command_script(paragraph_count())
    with BenchDouble(TOKEN, latency=load.latency) as api, harness_gc_paused():
        bot = spawn(kind, api, workdir, **settings)
        try:
            bot.wait_ready(api)
            if profile is not None:
                bot.profile(profile)
            time.sleep(settle)
            window = measure_load(
                api, bot, script, load, drain_timeout=drain_timeout, depth=depth, replies=replies
            )
        except BaseException:
            bot.kill()
            raise
        stop_loaded(bot, window.outstanding)
        exchanges = list(api.exchanges)
    return window, exchanges, api


def run_reply(
    kind: Kind,
    load: Load,
    *,
    workdir: Path,
    settle: float = SETTLE,
    profile: Path | None = None,
    replies: Path | None = None,
) -> ReplyRun:
    """Start ``kind`` against a fresh double, load it, stop it; the figures of the run.

    ``replies``: what :func:`capture_replies` wrote, needed by "bare-ptb-same".
    """
    settings = {}
    if kind == "story-brief":
        settings["BOT_DATABASE_URL"] = Database.sqlite(workdir / "state.sqlite3").url
    if kind == "bare-ptb-same":
        if replies is None:
            raise ValueError("bare-ptb-same needs the captured replies")
        settings["BASELINE_REPLIES"] = str(replies)
    window, exchanges, api = run_load(
        kind,
        settings,
        load,
        workdir=workdir,
        settle=settle,
        drain_timeout=DRAIN_TIMEOUT,
        profile=profile,
    )
    counted = window.answered_in(exchanges)
    sampled = window.latencies(exchanges)
    return ReplyRun.measured(
        window,
        counted,
        sampled,
        api,
        kind=kind,
        load=load,
        samples=len(sampled),
        cpu_per_reply=window.cpu / len(counted) if counted else float("nan"),
        unanswered=window.outstanding,
    )
