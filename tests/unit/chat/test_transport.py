"""The HTTP layer's pieces that are ours: the shared rate and the pooled connections."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot
from telegram.constants import FloodLimit
from telegram.error import RetryAfter

from bot.chat.transport import PACED, PooledRequest, SharedRate
from bot.delivery import SendLimiter
from tests.botapi import BotApiDouble
from tests.e2e import TEST_TOKEN


class CountingLimiter(SendLimiter):
    def __init__(self) -> None:
        super().__init__(FloodLimit.MESSAGES_PER_SECOND)
        self.unpaced = 0
        self.chats: list[int] = []
        self.paused: list[float] = []

    def take_unpaced(self) -> None:
        self.unpaced += 1

    def sent(self, chat_id: int) -> None:
        self.chats.append(chat_id)
        super().sent(chat_id)

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)
        super().pause(seconds)


async def test_shared_rate_counts_messages_the_sender_did_not_pace() -> None:
    limiter = CountingLimiter()
    shared = SharedRate(limiter)
    calls: list[str] = []

    async def request(name: str) -> dict[str, Any]:
        calls.append(name)
        return {"ok": name}

    async def call(endpoint: str, args: dict[str, Any] | None) -> object:
        return await shared.process_request(request, (endpoint,), {}, endpoint, {}, args)

    assert await call("sendMessage", None) == {"ok": "sendMessage"}  # a reply: counted
    await call("editMessageText", {})  # a button's edit: counted
    await call("sendMessage", PACED)  # the sender's: it took its slot already
    await call("getMe", None)
    await call("answerCallbackQuery", None)  # not a message
    assert limiter.unpaced == 2
    assert calls == [
        "sendMessage",
        "editMessageText",
        "sendMessage",
        "getMe",
        "answerCallbackQuery",
    ]


async def test_pooled_request_sizes_its_pools() -> None:
    pooled = PooledRequest(282)
    assert pooled.pools == 36  # eight connections each, enough for all
    assert PooledRequest(1).pools == 1
    await pooled.initialize()
    await pooled.shutdown()


async def test_pooled_request_spreads_requests_over_the_least_busy_pools() -> None:
    with BotApiDouble(latency=0.3) as double:
        pooled = PooledRequest(16)  # two pools of eight
        bot = Bot(TEST_TOKEN, base_url=double.base_url, request=pooled)
        async with bot:
            calls = [asyncio.create_task(bot.get_me()) for _ in range(16)]
            await asyncio.sleep(0.15)  # every call is now waiting for the double's answer
            assert pooled.in_flight == [8, 8]
            users = await asyncio.gather(*calls)
        assert {user.id for user in users} == {users[0].id}
        assert pooled.in_flight == [0, 0]


async def test_a_reply_starts_its_chats_gap_and_a_429_on_it_pauses_the_broadcast() -> None:
    limiter = CountingLimiter()
    shared = SharedRate(limiter)

    async def accepted() -> dict[str, Any]:
        return {"message_id": 1}

    async def flood() -> dict[str, Any]:
        raise RetryAfter(timedelta(seconds=7))

    await shared.process_request(accepted, (), {}, "sendMessage", {"chat_id": 42}, None)
    assert limiter.chats == [42]
    with pytest.raises(RetryAfter):
        await shared.process_request(flood, (), {}, "sendMessage", {"chat_id": 43}, None)
    assert limiter.paused == [7.0]
    assert limiter.paused_for > 6
    assert limiter.chats == [42, 43]
    # The sender's own sends are neither counted nor paced here: it did both itself.
    await shared.process_request(accepted, (), {}, "sendMessage", {"chat_id": 44}, PACED)
    assert (limiter.unpaced, limiter.chats) == (2, [42, 43])
