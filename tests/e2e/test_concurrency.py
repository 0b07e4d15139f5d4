"""Updates handled concurrently across chats, each chat's in the order it sent them.

The real application polls the loopback Bot API double, which answers every call after a
random delay (a slow, jittery Telegram): replies to different chats overtake each other,
and each chat must still see its answers in the order of its messages.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from bot.digest import Digest
from tests.botapi import BotApiDouble, Fault
from tests.conftest import EditDigest
from tests.e2e import polling, settings_for
from tests.e2e.webhooks import message_update, webhook_bot

CHATS = range(5001, 5041)
STEPS = ("/subscribe", "/status", "/unsubscribe", "/status", "/summary")


def expected(position: int, reply: str) -> bool:
    """Whether ``reply`` answers the step at ``position`` in :data:`STEPS`."""
    return {
        0: reply.startswith("✅ Subscribed."),
        1: "You are subscribed" in reply,
        2: reply.startswith("Unsubscribed"),
        3: "You are not subscribed" in reply,
        4: "Key points" in reply,
    }[position]


async def test_each_chat_is_answered_in_order_while_chats_run_concurrently(
    api: BotApiDouble, digest: Digest, tmp_path: Path
) -> None:
    rng = random.Random(7)
    # Every sendMessage waits a random 0-40 ms first: answers to a chat's earlier message
    # would come after its later one's if the two were handled side by side.
    for chat in CHATS:
        for _ in STEPS:
            api.inject(Fault("sendMessage", chat_id=chat, status=200, delay=rng.random() / 25))
    settings = settings_for(api, tmp_path / "state.sqlite3")
    most_at_once = 0
    async with polling(api, settings, digest) as application:
        for step in STEPS:
            for chat in rng.sample(list(CHATS), len(CHATS)):
                api.send_text(chat, step)
        for chat in CHATS:
            while len(api.messages(chat)) < len(STEPS):
                most_at_once = max(
                    most_at_once, application.update_processor.current_concurrent_updates
                )
                await asyncio.sleep(0.002)
    for chat in CHATS:
        replies = [message.visible_text for message in api.messages(chat)]
        assert len(replies) == len(STEPS), chat
        for position, reply in enumerate(replies):
            assert expected(position, reply), (chat, STEPS[position], reply[:80])
    # Several chats' updates were in hand at once (one at a time would be 1).
    assert most_at_once > len(CHATS) // 2


async def test_a_webhook_with_a_full_backlog_answers_503_and_loses_nothing_it_took(
    api: BotApiDouble, tmp_path: Path
) -> None:
    # One update at a time, so the backlog is 4: the first sendMessage hangs for a while,
    # the next updates pile up, and beyond four Telegram is told to come back later.
    api.inject(Fault("sendMessage", status=200, delay=1.0))
    async with webhook_bot(api, tmp_path, concurrent_updates=1) as hook:
        statuses = [
            (await hook.post_update(message_update(6000 + n, "/summary"))).status_code
            for n in range(10)
        ]
        accepted = [6000 + n for n, status in enumerate(statuses) if status == 200]
        assert statuses[:4] == [200] * 4
        assert 503 in statuses
        assert set(statuses) == {200, 503}
        for chat in accepted:
            await api.wait_for_messages_async(chat, 1, timeout=30)
        # Once the backlog drains, updates are taken again.
        response = await hook.post_update(message_update(6100, "/summary"))
        assert response.status_code == 200


async def test_a_webhook_whose_update_queue_is_full_answers_503_not_500(
    api: BotApiDouble, tmp_path: Path
) -> None:
    # With many slots the backlog limit lies beyond what the application takes in: twice
    # the concurrency in hand and one getUpdates' worth queued (bot.chat.ordering). Once
    # that queue is full, Telegram must be told to come back later, not shown an error.
    # The first 64 replies hang for 10 s: the slots stay full while 400 updates are posted
    # (a few seconds even under coverage), however slowly the posts go.
    api.inject(Fault("sendMessage", status=200, delay=10.0, times=64))
    async with webhook_bot(api, tmp_path, concurrent_updates=64) as hook:
        statuses = [
            (await hook.post_update(message_update(8100 + n, "/summary"))).status_code
            for n in range(400)
        ]
        assert set(statuses) == {200, 503}
        accepted = [8100 + n for n, status in enumerate(statuses) if status == 200]
        for chat in accepted:
            await api.wait_for_messages_async(chat, 1, timeout=60)


async def test_a_burst_of_subscriptions_on_sqlite_records_every_one(
    api: BotApiDouble, digest: Digest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A thousand chats subscribe at once: handled side by side, all writing to one SQLite
    # file. None may fail with "database is locked", and every one is recorded.
    chats = range(7001, 8001)
    settings = settings_for(api, tmp_path / "state.sqlite3")
    async with polling(api, settings, digest) as application:
        for chat in chats:
            api.send_text(chat, "/subscribe")
        for chat in chats:
            await api.wait_for_messages_async(chat, 1, timeout=60)
        counts = await application.bot_data.store.subscriptions.subscriber_counts()
    assert counts.active == len(chats)
    assert all(api.messages(chat)[0].visible_text.startswith("✅ Subscribed.") for chat in chats)
    assert "database is locked" not in caplog.text
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def test_two_reloads_at_once_publish_once(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    admins = (9001, 9002)
    settings = settings_for(
        api, tmp_path / "state.sqlite3", admin_ids=frozenset(admins), digest_path=seeds_copy
    )
    async with polling(api, settings) as application:
        edit_digest("    context: Continuing the same remarks.", "    context: Still speaking.")
        for admin in admins:
            api.send_text(admin, "/reload")
        replies = [
            (await api.wait_for_messages_async(admin, 1))[0].visible_text for admin in admins
        ]
        assert application.bot_data.library.version.id == 2
    # One published the edit; the other found it published already.
    assert sorted(reply.split()[0] for reply in replies) == ["No", "✅"]
