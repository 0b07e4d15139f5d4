"""The delivery sender against the real store (SQLite), with a scripted transport."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from bot.delivery.sender import SenderPolicy, SentOutcomes
from bot.store import Announcement, Delivery, DeliveryLedger, Store

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

    async def send(
        self, chat_id: int, text: str, *, silent: bool = False, keyboard: Any = None
    ) -> int:
        self.attempts[chat_id] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        script = self.errors.get(chat_id)
        if script:
            raise script.pop(0)
        self.sent.append(chat_id)
        return len(self.sent)


async def publish_to(store: Store, chats: range) -> int:
    for chat in chats:
        await store.subscriptions.subscribe(chat, chat_type="private", title=None)
    publication = await store.versions.publish(
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


@asynccontextmanager
async def running(sender: DeliverySender) -> AsyncIterator[None]:
    """The sender running meanwhile; stopped, and its run awaited, on the way out."""
    task = asyncio.create_task(sender.run())
    try:
        yield
    finally:
        sender.stop()
        await task


async def drain(sender: DeliverySender, store: Store, seconds: float = 10.0) -> None:
    """Run the sender until no delivery is pending or in flight."""
    async with running(sender), asyncio.timeout(seconds):
        while True:
            progress = await store.ledger.latest_broadcast()
            if progress is not None and progress.pending == progress.sending == 0:
                return
            await asyncio.sleep(0.02)


async def test_every_subscriber_gets_one_message(store: Store) -> None:
    await publish_to(store, range(1, 121))
    transport = ScriptedTransport()
    await drain(DeliverySender(store.ledger, transport, SendLimiter(1000), FAST), store)
    assert sorted(transport.sent) == list(range(1, 121))
    progress = await store.ledger.latest_broadcast()
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
    await drain(DeliverySender(store.ledger, transport, limiter, FAST), store)
    assert sorted(transport.sent) == [2, 5]
    assert transport.attempts == Counter({1: 1, 2: 3, 3: 3, 4: 1, 5: 2})
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.blocked, progress.failed) == (2, 1, 2)
    blocked = await store.subscriptions.subscription(1)
    assert blocked is not None
    assert not blocked.active


async def test_retry_after_pauses_everyone(store: Store) -> None:
    await publish_to(store, range(1, 6))
    transport = ScriptedTransport(errors={2: [RetryLater(0.5)]})
    attempts: list[tuple[float, int]] = []
    original = transport.send

    async def timed(chat_id: int, text: str, *, silent: bool = False, keyboard: Any = None) -> int:
        attempts.append((asyncio.get_running_loop().time(), chat_id))
        return await original(chat_id, text, silent=silent)

    transport.send = timed  # type: ignore[method-assign]
    await drain(DeliverySender(store.ledger, transport, SendLimiter(100), FAST), store)
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
        async def send(
            self, chat_id: int, text: str, *, silent: bool = False, keyboard: Any = None
        ) -> int:
            if len(self.sent) >= 10:
                raise Crash  # while the other workers' sends are still under way
            return await super().send(chat_id, text)

    transport = CrashingTransport(delay=0.05)
    with pytest.RaisesGroup(Crash):
        await DeliverySender(store.ledger, transport, SendLimiter(1000), FAST).run()
    attempted, first_run = set(transport.attempts), list(transport.sent)

    restarted = ScriptedTransport()
    await drain(DeliverySender(store.ledger, restarted, SendLimiter(1000), FAST), store)
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
    sender = DeliverySender(store.ledger, transport, SendLimiter(1000), SenderPolicy(idle_poll=30))
    async with running(sender):
        await asyncio.sleep(0.05)  # the sender is idle, for up to 30 s
        await publish_to(store, range(1, 3))
        sender.wake()
        async with asyncio.timeout(5):
            while len(transport.sent) < 2:
                await asyncio.sleep(0.01)


async def test_stop_finishes_sends_under_way_and_starts_no_other(store: Store) -> None:
    await publish_to(store, range(1, 101))
    transport = ScriptedTransport(delay=0.2)
    sender = DeliverySender(store.ledger, transport, SendLimiter(1000), FAST)
    task = asyncio.create_task(sender.run())
    while not transport.attempts:
        await asyncio.sleep(0.005)
    sender.stop()
    await asyncio.wait_for(task, 5)
    assert set(transport.attempts) == set(transport.sent)  # every send begun was finished
    assert len(transport.sent) <= FAST.concurrency
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert progress.sent == len(transport.sent)  # and recorded
    # What was claimed and never sent is due again at once, for whoever sends next.
    assert (progress.sending, progress.pending) == (0, 100 - len(transport.sent))


def test_backoff_is_exponential_and_capped() -> None:
    policy = SenderPolicy(backoff_base=1, backoff_cap=60)
    assert [policy.backoff(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_migrated_chat_gets_its_update_at_its_new_id(store: Store) -> None:
    await store.subscriptions.subscribe(-42, chat_type="group", title="Newsroom")
    await publish_to(store, range(1, 2))
    transport = ScriptedTransport(errors={-42: [ChatMoved(-10042)]})
    await drain(DeliverySender(store.ledger, transport, SendLimiter(1000), FAST), store)
    assert sorted(transport.sent) == [-10042, 1]
    moved = await store.subscriptions.subscription(-10042)
    assert moved is not None
    assert moved.active


async def test_a_migrated_chat_that_has_its_own_delivery_gets_the_update_once(
    store: Store,
) -> None:
    # The supergroup subscribed before anyone saw the migration: both ids have a delivery.
    await store.subscriptions.subscribe(-42, chat_type="group", title="Newsroom")
    await store.subscriptions.subscribe(-10042, chat_type="supergroup", title="Newsroom")
    await publish_to(store, range(1, 2))
    transport = ScriptedTransport(errors={-42: [ChatMoved(-10042)]})
    await drain(DeliverySender(store.ledger, transport, SendLimiter(1000), FAST), store)
    assert sorted(transport.sent) == [-10042, 1]
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.cancelled, progress.sending) == (2, 1, 0)


# -- the fast path: chunked "still due?" checks, grouped commits, no batch barrier ---------

GROUPED = SenderPolicy(
    concurrency=32, batch=64, recheck=10, commit_window=0.01, idle_poll=0.05, backoff_base=0.01
)


class CountingLedger(DeliveryLedger):
    """The real ledger, recording how the sender groups its writes and questions."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.engine)
        self.sent_groups: list[int] = []
        self.asked: list[int] = []

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        self.sent_groups.append(len(sent))
        await super().mark_sent_many(sent)

    async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]:
        self.asked.append(len(delivery_ids))
        return await super().still_due_among(delivery_ids)


async def test_grouped_policy_sends_each_once_with_few_transactions(store: Store) -> None:
    await publish_to(store, range(1, 401))
    ledger = CountingLedger(store)
    transport = ScriptedTransport(delay=0.005)
    await drain(DeliverySender(ledger, transport, SendLimiter(5000), GROUPED), store)
    assert sorted(transport.sent) == list(range(1, 401))
    assert sum(ledger.sent_groups) == 400
    # Outcomes are written in groups, and rows are asked about ten at a time.
    assert len(ledger.sent_groups) < 400 / 4, ledger.sent_groups
    assert sum(ledger.asked) == 400 and max(ledger.asked) == 10, ledger.asked
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.sending, progress.pending) == (400, 0, 0)


async def test_grouped_policy_skips_a_chat_that_left_after_the_claim(store: Store) -> None:
    await publish_to(store, range(1, 201))
    left = 150

    class LeavingTransport(ScriptedTransport):
        async def send(
            self, chat_id: int, text: str, *, silent: bool = False, keyboard: Any = None
        ) -> int:
            if chat_id == 20:  # long after chat 150's row was claimed, before it is asked
                await store.subscriptions.unsubscribe(left)
            return await super().send(chat_id, text)

    transport = LeavingTransport()
    policy = SenderPolicy(concurrency=4, batch=200, recheck=10, idle_poll=0.05)
    await drain(DeliverySender(store.ledger, transport, SendLimiter(5000), policy), store)
    assert left not in transport.sent
    assert sorted(transport.sent) == [chat for chat in range(1, 201) if chat != left]
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.cancelled) == (199, 1)


def test_policy_for_a_rate() -> None:
    slow, fast = SenderPolicy.for_rate(30), SenderPolicy.for_rate(1000)
    # At 30/s there is nothing to group: every row is asked about and committed alone.
    assert (slow.concurrency, slow.batch, slow.recheck, slow.commit_window) == (8, 200, 1, 0.0)
    assert (fast.concurrency, fast.batch, fast.recheck, fast.commit_window) == (250, 500, 50, 0.02)


class FlakyOutcomes:
    """A ledger whose first commit of outcomes fails; records what was committed."""

    def __init__(self) -> None:
        self.committed: list[list[tuple[int, int]]] = []
        self.fail_next = True

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        await asyncio.sleep(0.01)
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk I/O error")
        self.committed.append(list(sent))


async def test_a_failed_commit_fails_every_outcome_in_it_and_only_those() -> None:
    ledger = FlakyOutcomes()
    outcomes = SentOutcomes(ledger)  # type: ignore[arg-type]
    first = await asyncio.gather(
        *(outcomes.record(row, row * 10) for row in (1, 2, 3)), return_exceptions=True
    )
    # The writer took row 1 alone; rows 2 and 3 arrived during its commit and went next.
    assert [type(result) for result in first] == [OSError, type(None), type(None)]
    assert ledger.committed == [[(2, 20), (3, 30)]]
    await outcomes.record(4, 40)
    assert ledger.committed[-1] == [(4, 40)]


async def test_a_cancelled_writer_leaves_nobody_waiting_forever() -> None:
    ledger = FlakyOutcomes()
    ledger.fail_next = False
    outcomes = SentOutcomes(ledger, window=10.0)  # type: ignore[arg-type]
    writer = asyncio.create_task(outcomes.record(1, 10))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(outcomes.record(2, 20))
    await asyncio.sleep(0.01)
    writer.cancel()
    async with asyncio.timeout(1):
        results = await asyncio.gather(writer, waiter, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert ledger.committed == []


class FailingChecks(DeliveryLedger):
    """The real ledger, whose "still due?" query fails once, after the first chunk."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.engine)
        self.checks = 0

    async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]:
        self.checks += 1
        if self.checks == 2:
            raise OSError("database is locked")
        return await super().still_due_among(delivery_ids)


async def test_a_ledger_failure_mid_drain_releases_what_was_not_sent(store: Store) -> None:
    await publish_to(store, range(1, 41))
    ledger = FailingChecks(store)
    transport = ScriptedTransport()
    policy = SenderPolicy(concurrency=2, batch=40, recheck=10, idle_poll=0.05)
    sender = DeliverySender(ledger, transport, SendLimiter(5000), policy)
    # The drain ends with the ledger's error (run() logs it and waits before trying again,
    # rather than spinning), once what was not sent is released.
    with pytest.raises(OSError, match="database is locked"):
        await sender.drain_once()
    assert sorted(transport.sent) == list(range(1, 11))  # the first chunk only
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sent, progress.sending, progress.pending) == (10, 0, 30)
    # The next drain sends the rest.
    assert await sender.drain_once() == 30
    assert sorted(transport.sent) == list(range(1, 41))


async def test_a_failing_ledger_makes_the_loop_wait_not_spin(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await publish_to(store, range(1, 11))

    class AlwaysFailing(DeliveryLedger):
        def __init__(self) -> None:
            super().__init__(store.engine)
            self.claims = 0

        async def claim_due(self, limit: int, now: datetime | None = None) -> list[Delivery]:
            self.claims += 1
            return await super().claim_due(limit, now)

        async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]:
            raise OSError("database is locked")

    ledger = AlwaysFailing()
    sender = DeliverySender(ledger, ScriptedTransport(), SendLimiter(5000), FAST)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.3)  # FAST polls every 0.05 s: a handful of tries, not hundreds
    sender.stop()
    await task
    assert 1 <= ledger.claims <= 10, ledger.claims
    assert "delivery loop failed; retrying" in caplog.text
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sending, progress.pending) == (0, 10)  # each try released its claim


async def test_a_broadcast_that_cannot_be_read_gives_its_rows_back(store: Store) -> None:
    await publish_to(store, range(1, 4))

    class Unreadable(DeliveryLedger):
        async def broadcast_message(self, broadcast_id: int) -> Announcement:
            raise OSError("disk I/O error")

    sender = DeliverySender(Unreadable(store.engine), ScriptedTransport(), SendLimiter(5000), FAST)
    assert await sender.drain_once() == 3
    progress = await store.ledger.latest_broadcast()
    assert progress is not None
    assert (progress.sending, progress.pending, progress.sent) == (0, 3, 0)


async def test_a_writer_cancelled_after_its_commit_failed_leaves_no_unread_error() -> None:
    class FailThenHang:
        def __init__(self) -> None:
            self.calls = 0

        async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
            self.calls += 1
            await asyncio.sleep(0.01 if self.calls == 1 else 10)
            if self.calls == 1:
                raise OSError("disk I/O error")

    unread: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unread.append(context))
    try:
        outcomes = SentOutcomes(FailThenHang())  # type: ignore[arg-type]
        writer = asyncio.create_task(outcomes.record(1, 10))
        await asyncio.sleep(0)
        other = asyncio.create_task(outcomes.record(2, 20))  # goes in the second commit
        await asyncio.sleep(0.05)  # the first commit failed; the writer waits on the second
        writer.cancel()
        results = await asyncio.gather(writer, other, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        del writer, other, results
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert unread == []
