"""ChatOrderedProcessor: concurrent across chats, in arrival order within each chat."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from telegram import CallbackQuery, Chat, InlineQuery, Message, Update, User

from bot.chat.ordering import (
    PACED_ABOVE,
    AdmissionQueue,
    ChatOrderedProcessor,
    ordering_key,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def message_update(update_id: int, chat_id: int) -> Update:
    """A text message from user ``chat_id`` in their private chat."""
    user = User(chat_id, "Reader", is_bot=False)
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, NOW, chat, from_user=user, text="hi"))


def test_keys_follow_the_chat_then_the_user() -> None:
    user = User(7, "Reader", is_bot=False)
    in_chat = message_update(1, 42)
    on_message = Update(
        2,
        callback_query=CallbackQuery(
            "q", user, "instance", message=Message(3, NOW, Chat(-100, Chat.SUPERGROUP))
        ),
    )
    inline = Update(3, inline_query=InlineQuery("i", user, "words", ""))
    assert ordering_key(in_chat) == ("chat", 42)
    assert ordering_key(on_message) == ("chat", -100)
    assert ordering_key(inline) == ("user", 7)
    assert ordering_key(Update(4)) is None
    assert ordering_key("not an update") is None


async def feed(processor: ChatOrderedProcessor, updates: list[Update], handle: object) -> None:
    """Hand ``updates`` to the processor as PTB does: one task per update, in order."""
    assert callable(handle)
    tasks = [
        asyncio.create_task(processor.process_update(update, handle(update))) for update in updates
    ]
    await asyncio.gather(*tasks)


@pytest.mark.parametrize("seed", range(5))
async def test_each_chat_in_arrival_order_under_random_delays(seed: int) -> None:
    rng = random.Random(seed)
    chats = list(range(1, 41))
    updates = [message_update(index, rng.choice(chats)) for index in range(1, 801)]
    handled: dict[int, list[int]] = {}
    running = 0
    most_running = 0

    async def handle(update: Update) -> None:
        nonlocal running, most_running
        running += 1
        most_running = max(most_running, running)
        await asyncio.sleep(rng.random() / 500)
        assert update.effective_chat is not None
        handled.setdefault(update.effective_chat.id, []).append(update.update_id)
        running -= 1

    processor = ChatOrderedProcessor(concurrency=16)
    async with processor:
        await feed(processor, updates, handle)

    sent: dict[int, list[int]] = {}
    for update in updates:
        assert update.effective_chat is not None
        sent.setdefault(update.effective_chat.id, []).append(update.update_id)
    assert handled == sent  # every update handled once, each chat's in its order
    assert 1 < most_running <= 16  # concurrent, within the bound
    assert processor.waiting_chats == 0


async def test_a_slow_chat_does_not_hold_up_the_others() -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        assert update.effective_chat is not None
        if update.update_id == 1:
            await release.wait()
        handled.append(update.update_id)

    processor = ChatOrderedProcessor(concurrency=4)
    updates = [message_update(1, 1), message_update(2, 1), message_update(3, 2)]
    task = asyncio.create_task(feed(processor, updates, handle))
    for _ in range(50):
        await asyncio.sleep(0)
    assert handled == [3]  # chat 2 answered; chat 1's second update waits for its first
    release.set()
    await task
    assert handled == [3, 1, 2]


async def test_updates_waiting_for_their_chat_take_no_slot() -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == 1:
            await release.wait()
        handled.append(update.update_id)

    processor = ChatOrderedProcessor(concurrency=2)
    # Chat 1's first update blocks; its next ten wait for it without taking the one
    # remaining slot, so chat 2 is still answered.
    updates = [message_update(index, 1) for index in range(1, 12)] + [message_update(99, 2)]
    task = asyncio.create_task(feed(processor, updates, handle))
    for _ in range(50):
        await asyncio.sleep(0)
    assert handled == [99]
    release.set()
    await task
    assert handled == [99, *range(1, 12)]


async def test_a_cancelled_update_releases_its_chat_and_is_closed() -> None:
    started = asyncio.Event()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == 1:
            started.set()
            await asyncio.sleep(3600)
        handled.append(update.update_id)

    processor = ChatOrderedProcessor(concurrency=2)
    first = asyncio.create_task(
        processor.process_update(message_update(1, 5), handle(message_update(1, 5)))
    )
    await started.wait()
    second_update = message_update(2, 5)
    second = asyncio.create_task(processor.process_update(second_update, handle(second_update)))
    waiting = message_update(3, 5)
    third = asyncio.create_task(processor.process_update(waiting, handle(waiting)))
    await asyncio.sleep(0)
    third.cancel()  # cancelled while waiting: its coroutine is closed, not left unawaited
    first.cancel()
    await asyncio.gather(first, third, return_exceptions=True)
    await second
    assert handled == [2]
    assert processor.waiting_chats == 0


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ChatOrderedProcessor(concurrency=0)


async def test_the_admission_queue_hands_out_no_more_than_its_limit() -> None:
    queue = AdmissionQueue(limit=3, maxsize=4)
    for update_id in range(4):
        await queue.put(message_update(update_id, 42))
    # Full: whoever fetches updates (polling, a webhook request) waits before putting more.
    putting = asyncio.create_task(queue.put(message_update(4, 42)))
    handed = [await queue.get() for _ in range(3)]
    await asyncio.sleep(0)
    assert putting.done()  # one got out, so one more got in
    fourth = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not fourth.done() and queue.in_hand == 3
    queue.task_done()  # one handled: the next may go
    assert isinstance(await asyncio.wait_for(fourth, 1), Update)
    assert queue.in_hand == 3
    assert [update.update_id for update in handed] == [0, 1, 2]  # type: ignore[attr-defined]


async def test_the_admission_queue_hands_out_one_update_a_loop_turn_once_many_are_in_hand() -> None:
    """As PTB's fetcher does: get and start, get and start, never yielding by itself."""
    queue = AdmissionQueue(limit=PACED_ABOVE + 10, maxsize=PACED_ABOVE + 5)
    for update_id in range(PACED_ABOVE + 5):
        queue.put_nowait(message_update(update_id, update_id))
    events: list[str] = []

    async def turns() -> None:
        while True:
            events.append("turn")
            await asyncio.sleep(0)

    async def fetch() -> None:
        for _ in range(PACED_ABOVE + 5):
            update = await queue.get()
            events.append(f"got {update.update_id}")  # type: ignore[attr-defined]

    ticking = asyncio.create_task(turns())
    await asyncio.sleep(0)  # the ticker has taken its first turn
    await fetch()
    ticking.cancel()
    first = events.index("got 0")
    # Below the mark, a backlog is handed out at once, in one turn of the loop ...
    assert events[first : first + PACED_ABOVE] == [f"got {n}" for n in range(PACED_ABOVE)]
    # ... from it on, other tasks (a poll's answer, a reply's) get a turn between updates.
    paced = events[first + PACED_ABOVE :]
    for n in range(PACED_ABOVE, PACED_ABOVE + 5):
        assert paced.index(f"got {n}") > 0 and paced[paced.index(f"got {n}") - 1] == "turn"
    assert queue.in_hand == PACED_ABOVE + 5
