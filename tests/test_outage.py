"""The database going away mid-broadcast, and coming back (issue 16, item 1).

PostgreSQL is reached through :class:`tests.tcpproxy.TcpProxy`, which cuts every connection
and refuses new ones, then lets them through again; the real application serves its webhook
against the Bot API double meanwhile. The figures printed (``-s``) are the README's
Reliability table.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chat.context import BriefApplication
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import EDIT, add_subscribers, update_calls
from tests.conftest import EditDigest
from tests.postgres import fresh_database
from tests.tcpproxy import proxy_to
from tests.test_web import Webhook, webhook_bot

ADMIN = 6601
READER = 6602
NEWCOMER = 6603
OUTAGE = 5.0
"""Seconds the database stays away (the contract promises up to 30; the test needs less)."""
RATE = 100.0
UNAVAILABLE = "Subscriptions are unavailable for a moment"


@pytest.fixture
def api() -> Iterator[BotApiDouble]:
    with BotApiDouble() as double:
        yield double
        assert double.violations == []


async def health(bot: Webhook) -> int:
    return (await bot.client.get("/healthz")).status_code


async def wait_until(check: object, within: float, what: str) -> float:
    """Poll ``check`` (an async callable) until true; the seconds it took."""
    started = time.monotonic()
    while not await check():  # type: ignore[operator]
        assert time.monotonic() - started < within, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def open_deliveries(application: BriefApplication) -> int:
    latest = await application.bot_data.store.ledger.latest_broadcast()
    assert latest is not None
    return latest.pending + latest.sending


async def test_a_postgres_outage_mid_broadcast_loses_nothing_and_the_bot_keeps_reading(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(7001, 7401))
    async with fresh_database() as direct, proxy_to(direct) as proxy:
        await add_subscribers(direct, subscribers)
        async with webhook_bot(
            api,
            tmp_path,
            admin_ids=frozenset({ADMIN}),
            digest_path=seeds_copy,
            database_url=proxy.url_for(direct),
            broadcast_rate=RATE,
            paid_broadcast=True,
        ) as bot:
            assert await health(bot) == 200
            edit_digest(*EDIT)
            await bot.say(ADMIN, "/reload")
            await api.wait_for_async(lambda d: len(update_calls(d)) >= 100, timeout=20)

            await proxy.cut()
            cut_at = time.monotonic()
            sent_at_cut = len(update_calls(api))
            # What needs no database is answered as usual.
            [summary] = await bot.say(READER, "/summary")
            assert "39,000" in summary
            [source] = await bot.say(READER, "/source 1")
            assert "1" in source
            [answer] = await bot.say(READER, "What is Megaports?")
            assert answer
            # Subscriptions are not, and the bot says so.
            [refused] = await bot.say(NEWCOMER, "/subscribe")
            assert UNAVAILABLE in refused, refused
            [status] = await bot.say(NEWCOMER, "/status")
            assert UNAVAILABLE in status, status
            assert await health(bot) == 503
            await asyncio.sleep(max(0.0, cut_at + OUTAGE - time.monotonic()))
            sent_in_outage = len(update_calls(api)) - sent_at_cut

            await proxy.restore()
            restored_at = time.monotonic()

            async def healthy() -> bool:
                return await health(bot) == 200

            health_back = await wait_until(healthy, 30, "/healthz back to 200")
            await api.wait_for_async(
                lambda d: {c.params["chat_id"] for c in update_calls(d)} >= set(subscribers),
                timeout=60,
            )
            resumed = [c.time for c in update_calls(api) if c.time > restored_at]

            async def settled() -> bool:
                return await open_deliveries(bot.application) == 0

            await wait_until(settled, 30, "the broadcast settled")
            [subscribed] = await bot.say(NEWCOMER, "/subscribe")
            assert subscribed.startswith("✅ Subscribed.")

    counts = Counter(c.params["chat_id"] for c in update_calls(api) if c.response_status == 200)
    twice = sorted(chat for chat, n in counts.items() if n > 1)
    lost = sorted(set(subscribers) - set(counts))
    print(
        f"\nPostgreSQL outage of {OUTAGE:.0f} s mid-broadcast ({len(subscribers)} subscribers, "
        f"{RATE:.0f}/s): lost {len(lost)}, sent twice {len(twice)}, "
        f"sent during the outage {sent_in_outage}; /healthz 200 again {health_back:.2f} s "
        f"after the database, broadcast resumed {min(resumed) - restored_at:.2f} s after it"
    )
    assert lost == []
    assert twice == []
