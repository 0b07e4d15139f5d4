"""Overload: 1,000 webhook updates in ten seconds, the database 50 ms a query away (issue 16,
item 5).

PostgreSQL is reached through :class:`tests.tcpproxy.TcpProxy` with 50 ms added to every
query; the real application serves its webhook. The client plays Telegram: it posts at a
steady pace, and retries an update the bot refuses with 503 (its back-pressure, see
``bot.web.BACKLOG_PER_SLOT``), as Telegram does. The figures printed (``-s``) are the
README's Reliability table.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.botapi import BotApiDouble
from tests.e2e.test_outage import UNAVAILABLE
from tests.e2e.webhooks import Webhook, message_update, webhook_bot
from tests.postgres import fresh_database
from tests.tcpproxy import proxy_to

UPDATES = 1000
SECONDS = 10.0
LATENCY = 0.05
RETRY_AFTER = 0.5
"""Seconds the client waits before posting a refused update again (Telegram waits longer)."""
FIRST_CHAT = 9_100_000
TEXTS = ("/subscribe", "/status", "/summary", "What is Megaports?")
"""Two that need the database, two that do not."""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def test_a_thousand_updates_in_ten_seconds_with_a_slow_database_are_all_answered(
    api: BotApiDouble, tmp_path: Path
) -> None:
    statuses: Counter[int] = Counter()
    posted_at: dict[int, float] = {}
    retries = 0
    dropped: list[int] = []

    async def post(bot: Webhook, chat_id: int, text: str) -> None:
        nonlocal retries
        update = message_update(chat_id, text)
        posted_at[chat_id] = time.monotonic()
        while True:
            try:
                response = await bot.post_update(update)
            except httpx.TransportError:
                # A kept-alive connection the server closed as this request left (its
                # idle limit): Telegram sends the update again, and so does this client.
                dropped.append(chat_id)
                await asyncio.sleep(RETRY_AFTER)
                continue
            statuses[response.status_code] += 1
            if response.status_code != 503:
                return
            retries += 1
            await asyncio.sleep(RETRY_AFTER)

    async with fresh_database() as direct, proxy_to(direct) as proxy:
        proxy.latency = LATENCY
        async with webhook_bot(api, tmp_path, database_url=proxy.url_for(direct)) as bot:
            # Warm: the pool's connections are open and the answer engine loaded.
            await bot.say(FIRST_CHAT - 1, "/status")
            await bot.say(FIRST_CHAT - 2, "What is Megaports?")
            started = time.monotonic()
            posts = []
            for n in range(UPDATES):
                await asyncio.sleep(max(0.0, started + n * SECONDS / UPDATES - time.monotonic()))
                chat_id = FIRST_CHAT + n
                posts.append(asyncio.create_task(post(bot, chat_id, TEXTS[n % len(TEXTS)])))
            await asyncio.gather(*posts)
            posting = time.monotonic() - started
            chats = range(FIRST_CHAT, FIRST_CHAT + UPDATES)
            await api.wait_for_async(lambda d: all(d.messages(c) for c in chats), timeout=60)
            answered_at: dict[int, float] = {}
            for call in api.calls_to("sendMessage"):
                chat_id = call.params["chat_id"]
                if chat_id in posted_at and call.response_status == 200:
                    answered_at.setdefault(chat_id, call.time)
            health = await bot.client.get("/healthz")
            replies = {c: api.messages(c)[0].visible_text for c in chats}

    refused = [chat for chat in chats if UNAVAILABLE in replies[chat]]
    latencies = [answered_at[chat] - posted_at[chat] for chat in chats]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"\nOverload: {UPDATES} webhook updates in {posting:.1f} s, PostgreSQL {LATENCY * 1000:.0f}"
        f" ms a query away: answered {len(answered_at)}, reply p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"(mean {statistics.fmean(latencies) * 1000:.0f} ms); HTTP {dict(sorted(statuses.items()))}"
        f", {retries} retried after a 503, {len(dropped)} after a dropped connection; "
        f"{len(refused)} told subscriptions are unavailable"
    )
    assert len(answered_at) == UPDATES
    assert set(statuses) <= {200, 503}
    assert statuses[200] == UPDATES
    assert health.status_code == 200
    # What needs no database is answered as usual, however busy the database is; what
    # needs it is answered as usual, or (a store call over 5 s, waiting for a connection
    # of the pool) "unavailable for a moment": never the apology for a failure, never
    # silence.
    for n, chat in enumerate(chats):
        text, reply = TEXTS[n % len(TEXTS)], replies[chat]
        if text == "/summary":
            assert "39,000" in reply, reply
        elif text == "/subscribe":
            assert reply.startswith("✅ Subscribed.") or UNAVAILABLE in reply, reply
        elif text == "/status":
            assert not reply.startswith("Sorry"), reply  # its answer, or "unavailable"
        else:  # a question
            assert not reply.startswith("Sorry") and UNAVAILABLE not in reply, reply
