"""Shared helpers of the broadcast tests (in-process and real-process).

Subscribers are written straight into the store before the bot starts; updates are
recognised by what a user sees ("🔔 Update:"); timing figures come from the double's
receive times (:attr:`tests.botapi.Call.time`).
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bot.chat.context import BriefApplication
from bot.config import FREE_BROADCAST_RATE, Settings
from bot.delivery.sender import DeliverySender
from tests.benchmarks.stats import achieved_rate as benchmark_rate
from tests.benchmarks.stats import busiest_window
from tests.botapi import BotApiDouble, BotMessage, Call
from tests.botapi.server import Request, Response
from tests.e2e import settings_for, text_of
from tests.postgres import open_store

ADMIN = 777
"""The admin's user id (and private chat id); never a subscriber unless a test says so."""

UPDATE_PREFIX = "🔔 Update:"


def broadcast_settings(
    api: BotApiDouble, database: Path, digest_path: Path, rate: float
) -> Settings:
    """Settings of a bot :data:`ADMIN` runs, broadcasting at ``rate`` messages a second: a
    paid broadcast above Telegram's free rate, as the bot's settings demand."""
    return settings_for(
        api,
        database,
        admin_ids=frozenset({ADMIN}),
        digest_path=digest_path,
        broadcast_rate=rate,
        paid_broadcast=rate > FREE_BROADCAST_RATE,
    )


# Two independent edits of the shipped digest: each changes one quote's context.
EDIT = ("    context: Continuing the same remarks.", "    context: Still speaking to reporters.")
SECOND_EDIT = (
    "    context: On why speeding up the repatriations matters.",
    "    context: Why faster repatriation matters, in his words.",
)


class HeldAnswers(BotApiDouble):
    """The double, able to hold its answers to sendMessage after it has stored the message.

    While :attr:`hold` is positive, every message sent is delivered (stored, recorded in
    :attr:`calls`) but the bot waits that long for the answer: the message is in flight from
    the bot's point of view, as when a crash comes between Telegram accepting a message and
    the bot hearing so.
    """

    hold: float = 0.0

    def _handle(self, request: Request) -> Response:
        response = super()._handle(request)
        hold = self.hold
        if hold > 0 and request.method == "sendmessage":
            time.sleep(hold)
        return response


def database_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def add_subscribers(url: str, chat_ids: Iterable[int]) -> list[int]:
    """Subscribe private chats straight in the store (migrating it first if needed); the
    chats, as a list."""
    chats = list(chat_ids)
    store = await open_store(url)
    try:
        for chat_id in chats:
            await store.subscriptions.subscribe(chat_id, chat_type="private", title=None)
    finally:
        await store.close()
    return chats


def is_update_call(call: Call) -> bool:
    """A sendMessage of an update (by its first character: cheap enough for wait predicates,
    which run under the double's lock; :func:`updates` checks the visible text)."""
    text = call.params.get("text")
    return call.method == "sendMessage" and isinstance(text, str) and text.startswith("🔔")


def update_calls(api: BotApiDouble, chats: Iterable[int] | None = None) -> list[Call]:
    """Every sendMessage of an update the double received (any answer), oldest first."""
    wanted = None if chats is None else set(chats)
    calls = [c for c in api.calls_to("sendMessage") if is_update_call(c)]
    if wanted is not None:
        calls = [c for c in calls if c.params.get("chat_id") in wanted]
    return sorted(calls, key=lambda c: c.time)


def delivered_times(api: BotApiDouble, chats: Iterable[int] | None = None) -> list[float]:
    """Receive times of the update sendMessages that the double accepted (HTTP 200)."""
    return [c.time for c in update_calls(api, chats) if c.response_status == 200]


def updates(api: BotApiDouble, chat_id: int) -> list[BotMessage]:
    """The update messages a chat has received."""
    return [m for m in api.messages(chat_id) if m.visible_text.startswith(UPDATE_PREFIX)]


def every_chat_updated(api: BotApiDouble, chats: Iterable[int]) -> bool:
    """Whether each of ``chats`` has been sent an update (whatever the double answered)."""
    return {c.params["chat_id"] for c in update_calls(api)} >= set(chats)


def delivered_chats(api: BotApiDouble) -> Counter[int]:
    """How many updates the double accepted (HTTP 200) for each chat."""
    return Counter(c.params["chat_id"] for c in update_calls(api) if c.response_status == 200)


def lost_and_twice(
    delivered: Counter[int], subscribers: Iterable[int]
) -> tuple[list[int], list[int]]:
    """The subscribers no update reached, and the chats that one reached more than once."""
    lost = sorted(set(subscribers) - set(delivered))
    return lost, sorted(chat for chat, n in delivered.items() if n > 1)


def update_counts(api: BotApiDouble, chats: Iterable[int]) -> dict[int, int]:
    return {chat: len(updates(api, chat)) for chat in chats}


max_in_window = busiest_window
"""The most events in any half-open window ``[t, t + width)`` (the benchmarks' function)."""


def achieved_rate(times: Sequence[float]) -> float:
    """(n - 1) / (last - first): the average rate between the first and the last event;
    ValueError unless there are two distinct times."""
    rate = benchmark_rate(times)
    if math.isnan(rate):
        raise ValueError("need at least two distinct times")
    return rate


async def reload(api: BotApiDouble) -> str:
    """The admin's /reload, and the bot's reply to it."""
    return await text_of(api, ADMIN, "/reload")


async def stats(api: BotApiDouble) -> str:
    """The admin's /stats, and the bot's reply to it."""
    return await text_of(api, ADMIN, "/stats")


def window_and_rate(times: Sequence[float]) -> tuple[int, float]:
    """The busiest one-second window of ``times``, and the average rate over them."""
    return max_in_window(times), achieved_rate(times)


def sender_of(application: BriefApplication) -> DeliverySender:
    return application.bot_data.sender


@dataclass(frozen=True)
class Stats:
    """The figures of the admin's /stats reply."""

    active: int
    inactive: int
    recipients: int
    sent: int
    pending: int
    blocked: int
    failed: int


_SUBSCRIBERS = re.compile(r"Subscribers: (\d+) active, (\d+) inactive")
_PROGRESS = re.compile(r"(\d+) recipients?: (\d+) sent, (\d+) pending, (\d+) blocked, (\d+) failed")


def parse_stats(text: str) -> Stats:
    subscribers = _SUBSCRIBERS.search(text)
    progress = _PROGRESS.search(text)
    assert subscribers is not None and progress is not None, text
    active, inactive = (int(n) for n in subscribers.groups())
    recipients, sent, pending, blocked, failed = (int(n) for n in progress.groups())
    return Stats(active, inactive, recipients, sent, pending, blocked, failed)


_RECIPIENTS = re.compile(r"(\d+) subscribers? (?:are|is) being told what changed")


def notified(reload_reply: str) -> int:
    """The number of subscribers a /reload reply says are being notified."""
    found = _RECIPIENTS.search(reload_reply)
    assert found is not None, reload_reply
    return int(found.group(1))


def ledger(database: Path) -> list[tuple[int, int, str]]:
    """(broadcast_id, chat_id, status) of every delivery, read with the sqlite3 module."""
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT broadcast_id, chat_id, status FROM deliveries ORDER BY id"
        ).fetchall()
    return [(int(b), int(c), str(s)) for b, c, s in rows]


def table_count(database: Path, table: str) -> int:
    with closing(sqlite3.connect(database)) as connection:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)
