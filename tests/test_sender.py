"""The delivery sender against the real store (SQLite), with a scripted transport."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.delivery import (
    ChatMoved,
    ChatUnreachable,
    DeliverySender,
    PermanentFailure,
    RetryLater,
    SendLimiter,
    TransientFailure,
)
from bot.delivery.sender import SenderPolicy
from bot.store import Store
from tests.postgres import fresh_database

FAST = SenderPolicy(
    concurrency=4, batch=50, max_attempts=3, backoff_base=0.01, backoff_cap=0.05, idle_poll=0.05
)


@dataclass
class ScriptedTransport:
    """Answers like Telegram would, from a script of errors per chat; records every send."""

    errors: dict[int, list[Exception]] = field(default_factory=dict)
    sent: list[int] = field(default_factory=list)
    attempts: Counter[int] = field(default_factory=Counter)
    delay: float = 0.0

    async def send(self, chat_id: int, text: str) -> int:
        self.attempts[chat_id] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        script = self.errors.get(chat_id)
        if script:
            raise script.pop(0)
        self.sent.append(chat_id)
        return len(self.sent)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The real store, on SQLite and (when BOT_TEST_DATABASE_URL is set) on PostgreSQL."""
    if request.param == "sqlite":
        opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}")
        yield opened
        await opened.close()
        return
    async with fresh_database() as url:
        opened = await Store.open(url)
        yield opened
        await opened.close()


async def publish_to(store: Store, chats: range) -> int:
    for chat in chats:
        await store.subscribe(chat, chat_type="private", title=None)
    publication = await store.publish(
        fingerprint="f" * 64,
        digest_yaml="title: x",
        article_text="x",
        published_by=1,
        reason="reload",
        file_fingerprint=None,
        announcement=["<b>Update</b>"],
    )
    assert publication.broadcast_id is not None
    return publication.broadcast_id


async def drain(sender: DeliverySender, store: Store, seconds: float = 10.0) -> None:
    """Run the sender until no delivery is pending or in flight."""
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(seconds):
            while True:
                progress = await store.latest_broadcast()
                if progress is not None and progress.pending == progress.sending == 0:
                    return
                await asyncio.sleep(0.02)
    finally:
        sender.stop()
        await task


async def test_every_subscriber_gets_one_message(store: Store) -> None:
    await publish_to(store, range(1, 121))
    transport = ScriptedTransport()
    await drain(DeliverySender(store, transport, SendLimiter(1000), FAST), store)
    assert sorted(transport.sent) == list(range(1, 121))
    progress = await store.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.failed, progress.blocked) == (120, 0, 0)


async def test_outcomes_by_error(store: Store) -> None:
    await publish_to(store, range(1, 6))
    transport = ScriptedTransport(
        errors={
            1: [ChatUnreachable("Forbidden: bot was blocked by the user")],
            2: [TransientFailure("Bad Gateway"), TransientFailure("Bad Gateway")],
            3: [TransientFailure("Bad Gateway")] * 3,
            4: [PermanentFailure("Bad Request: message is too long")],
            5: [RetryLater(0.2)],
        }
    )
    limiter = SendLimiter(1000)
    await drain(DeliverySender(store, transport, limiter, FAST), store)
    assert sorted(transport.sent) == [2, 5]
    assert transport.attempts == Counter({1: 1, 2: 3, 3: 3, 4: 1, 5: 2})
    progress = await store.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.blocked, progress.failed) == (2, 1, 2)
    blocked = await store.subscription(1)
    assert blocked is not None
    assert not blocked.active


async def test_retry_after_pauses_everyone(store: Store) -> None:
    await publish_to(store, range(1, 6))
    transport = ScriptedTransport(errors={2: [RetryLater(0.5)]})
    attempts: list[tuple[float, int]] = []
    original = transport.send

    async def timed(chat_id: int, text: str) -> int:
        attempts.append((asyncio.get_running_loop().time(), chat_id))
        return await original(chat_id, text)

    transport.send = timed  # type: ignore[method-assign]
    await drain(DeliverySender(store, transport, SendLimiter(100), FAST), store)
    assert sorted(transport.sent) == [1, 2, 3, 4, 5]
    told_to_wait = next(time for time, chat in attempts if chat == 2)
    during_pause = [chat for time, chat in attempts if told_to_wait < time < told_to_wait + 0.5]
    assert during_pause == []  # nobody, not only chat 2, was sent to while paused
    assert [chat for _, chat in attempts].count(2) == 2


class Crash(BaseException):
    """The process dying: nothing after it runs, no outcome is recorded."""


async def test_a_crash_in_flight_resends_only_what_was_in_flight(store: Store) -> None:
    await publish_to(store, range(1, 41))

    class CrashingTransport(ScriptedTransport):
        async def send(self, chat_id: int, text: str) -> int:
            if len(self.sent) >= 10:
                raise Crash  # while the other workers' sends are still under way
            return await super().send(chat_id, text)

    transport = CrashingTransport(delay=0.05)
    with pytest.RaisesGroup(Crash):
        await DeliverySender(store, transport, SendLimiter(1000), FAST).run()
    attempted, first_run = set(transport.attempts), list(transport.sent)

    restarted = ScriptedTransport()
    await drain(DeliverySender(store, restarted, SendLimiter(1000), FAST), store)
    everyone = Counter(first_run) + Counter(restarted.sent)
    assert set(everyone) == set(range(1, 41))  # nobody skipped
    duplicates = {chat for chat, count in everyone.items() if count > 1}
    # A second copy goes only to a chat whose send was under way when the task died: at
    # most one per worker, and never to a chat whose outcome had been recorded.
    assert duplicates <= attempted
    assert len(duplicates) <= FAST.concurrency
    assert max(everyone.values()) <= 2


async def test_wake_starts_a_new_broadcast_without_waiting(store: Store) -> None:
    transport = ScriptedTransport()
    sender = DeliverySender(store, transport, SendLimiter(1000), SenderPolicy(idle_poll=30))
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(0.05)  # the sender is idle, for up to 30 s
        await publish_to(store, range(1, 3))
        sender.wake()
        async with asyncio.timeout(5):
            while len(transport.sent) < 2:
                await asyncio.sleep(0.01)
    finally:
        sender.stop()
        await task


async def test_stop_finishes_sends_under_way_and_starts_no_other(store: Store) -> None:
    await publish_to(store, range(1, 101))
    transport = ScriptedTransport(delay=0.2)
    sender = DeliverySender(store, transport, SendLimiter(1000), FAST)
    task = asyncio.create_task(sender.run())
    while not transport.attempts:
        await asyncio.sleep(0.005)
    sender.stop()
    await asyncio.wait_for(task, 5)
    assert set(transport.attempts) == set(transport.sent)  # every send begun was finished
    assert len(transport.sent) <= FAST.concurrency
    progress = await store.latest_broadcast()
    assert progress is not None
    assert progress.sent == len(transport.sent)  # and recorded


def test_backoff_is_exponential_and_capped() -> None:
    policy = SenderPolicy(backoff_base=1, backoff_cap=60)
    assert [policy.backoff(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_migrated_chat_gets_its_update_at_its_new_id(store: Store) -> None:
    await store.subscribe(-42, chat_type="group", title="Newsroom")
    await publish_to(store, range(1, 2))
    transport = ScriptedTransport(errors={-42: [ChatMoved(-10042)]})
    await drain(DeliverySender(store, transport, SendLimiter(1000), FAST), store)
    assert sorted(transport.sent) == [-10042, 1]
    moved = await store.subscription(-10042)
    assert moved is not None
    assert moved.active
