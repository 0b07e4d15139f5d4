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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import DEFAULT_DIGEST_PATH
from bot.digest import load_digest
from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble, harness_gc_paused
from tests.benchmarks.procs import TOKEN, Kind, spawn
from tests.benchmarks.stats import Figures, percentile

COMMANDS = ("/summary", "/quotes", "/figures")
FIRST_USER = 5_000_001
SETTLE = 0.5
"""Seconds after the first getUpdates before the load starts: start-up calls finish
(default)."""
DRAIN_TIMEOUT = 30.0


@dataclass(frozen=True)
class ReplyRun(Figures):
    """One bot under one load at one latency."""

    kind: Kind
    latency: float
    users: int
    seconds: float
    replies: int
    """Replies that reached the double in the measured window."""
    replies_per_second: float
    p50: float
    p99: float
    samples: int
    """Commands sent in the measured window (their latencies make the percentiles)."""
    cpu_per_reply: float
    """CPU seconds the bot process used in the measured window, per reply counted."""
    unanswered: int
    stray_replies: int
    violations: int


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


def run_reply(
    kind: Kind,
    *,
    latency: float,
    users: int,
    warmup: float,
    seconds: float,
    workdir: Path,
    settle: float = SETTLE,
    profile: Path | None = None,
    replies: Path | None = None,
) -> ReplyRun:
    """Start ``kind`` against a fresh double, load it, stop it; the figures of the run.

    ``replies``: what :func:`capture_replies` wrote, needed by "bare-ptb-same".
    """
    script = command_script(paragraph_count())
    with BenchDouble(TOKEN, latency=latency) as api, harness_gc_paused():
        settings = {}
        if kind == "story-brief":
            settings["BOT_DATABASE_URL"] = Database.sqlite(workdir / "state.sqlite3").url
        if kind == "bare-ptb-same":
            if replies is None:
                raise ValueError("bare-ptb-same needs the captured replies")
            settings["BASELINE_REPLIES"] = str(replies)
        bot = spawn(kind, api, workdir, **settings)
        try:
            bot.wait_ready(api)
            if profile is not None:
                bot.profile(profile)
            time.sleep(settle)
            began = time.monotonic()
            measured_from = began + warmup
            measured_to = measured_from + seconds
            api.start_load(range(FIRST_USER, FIRST_USER + users), script, measured_to)
            time.sleep(max(0.0, measured_from - time.monotonic()))
            cpu_from = bot.cpu_seconds()
            time.sleep(max(0.0, measured_to - time.monotonic()))
            cpu = bot.cpu_seconds() - cpu_from
            api.stop_load()
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while api.outstanding() and time.monotonic() < deadline:
                time.sleep(0.01)
            unanswered = api.outstanding()
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"{kind} exited with {code}:\n{bot.stderr()[-3000:]}")
        exchanges = list(api.exchanges)
        violations = len(api.violations)
        stray = api.stray_replies
    counted = [e for e in exchanges if measured_from <= e.answered < measured_to]
    sampled = [e.latency for e in exchanges if measured_from <= e.sent < measured_to]
    return ReplyRun(
        kind=kind,
        latency=latency,
        users=users,
        seconds=seconds,
        replies=len(counted),
        replies_per_second=len(counted) / seconds,
        p50=percentile(sampled, 0.50),
        p99=percentile(sampled, 0.99),
        samples=len(sampled),
        cpu_per_reply=cpu / len(counted) if counted else float("nan"),
        unanswered=unanswered,
        stray_replies=stray,
        violations=violations,
    )
