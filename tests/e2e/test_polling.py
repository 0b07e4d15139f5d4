"""The bot's own long polling (bot.chat.polling) against the Bot API double over HTTP:
every update once and in order, confirmed only once queued, and each kind of failure
answered as python-telegram-bot's Updater answered it, or better."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.error import InvalidToken
from telegram.request import HTTPXRequest

from bot.chat import polling
from bot.chat.polling import Poller
from bot.chat.transport import PollingRequest
from tests.botapi import BotApiDouble, Fault
from tests.e2e import TEST_TOKEN
from tests.processes import start_bot, terminate

CHATS = (501, 502, 503)


@pytest.fixture
async def bot(api: BotApiDouble) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, base_url=api.base_url) as bot:
        yield bot


def texts_of(queue: asyncio.Queue[object]) -> list[tuple[int, str]]:
    """What is in ``queue`` (emptied): each update's chat and text, in queue order."""
    found = []
    while not queue.empty():
        update = queue.get_nowait()
        assert isinstance(update, Update) and update.message is not None
        found.append((update.message.chat.id, update.message.text or ""))
    return found


async def wait_until(condition: Callable[[], bool]) -> None:
    """Until ``condition()`` holds; fails after ten seconds."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


async def poll_until_queued(bot: Bot, *, long_poll: int = 1) -> asyncio.Queue[object]:
    """Poll (``long_poll`` seconds a getUpdates) until an update is queued, then stop
    (confirming it); the queue."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    poller = Poller(bot, queue, timeout=long_poll)
    await poller.start()
    await wait_until(lambda: not queue.empty())
    await poller.stop()
    return queue


async def test_every_update_arrives_once_in_order_and_is_confirmed_on_stop(
    api: BotApiDouble, bot: Bot
) -> None:
    sent = [(CHATS[n % 3], f"message {n}") for n in range(250)]  # more than one poll's 100
    for chat, text in sent:
        api.send_text(chat, text)
    queue: asyncio.Queue[object] = asyncio.Queue()
    poller = Poller(bot, queue, timeout=1)
    await poller.start()
    await wait_until(lambda: queue.qsize() == len(sent))
    await poller.stop()
    assert texts_of(queue) == sent
    assert api.pending_updates() == 0  # the last answer confirmed: none comes again

    again = Poller(bot, queue, timeout=1)
    await again.start()
    api.send_text(CHATS[0], "after a restart")
    await wait_until(lambda: not queue.empty())
    await again.stop()
    assert texts_of(queue) == [(CHATS[0], "after a restart")]
    assert api.violations == []


async def test_a_full_queue_holds_updates_back_and_only_those_queued_are_confirmed(
    api: BotApiDouble, bot: Bot
) -> None:
    for n in range(20):
        api.send_text(CHATS[0], f"message {n}")
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=5)
    poller = Poller(bot, queue, timeout=1)
    await poller.start()
    await wait_until(queue.full)
    await asyncio.sleep(0.2)  # the poller waits for room with the sixth in hand
    assert len(api.calls_to("getUpdates")) == 1  # and does not fetch more meanwhile
    await poller.stop()
    assert texts_of(queue) == [(CHATS[0], f"message {n}") for n in range(5)]
    assert api.pending_updates() == 15  # fetched but never queued: still Telegram's

    roomy: asyncio.Queue[object] = asyncio.Queue()
    again = Poller(bot, roomy, timeout=1)
    await again.start()
    await wait_until(lambda: roomy.qsize() == 15)
    await again.stop()
    assert texts_of(roomy) == [(CHATS[0], f"message {n}") for n in range(5, 20)]


async def test_a_webhook_left_set_is_deleted_before_polling(api: BotApiDouble, bot: Bot) -> None:
    await bot.set_webhook("https://bot.example.org/telegram")
    api.send_text(CHATS[0], "sent while the webhook was set")
    queue = await poll_until_queued(bot)
    assert texts_of(queue) == [(CHATS[0], "sent while the webhook was set")]
    assert (await bot.get_webhook_info()).url == ""


async def test_failures_back_off_and_polling_resumes_with_nothing_lost(
    api: BotApiDouble, bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(polling, "FIRST_BACKOFF", 0.2)
    api.inject(Fault(method="getUpdates", status=502, times=2))
    api.inject(Fault(method="getUpdates", status=409, times=1))  # another poller, say
    api.send_text(CHATS[0], "sent while Telegram failed")
    with caplog.at_level(logging.INFO, logger="bot.chat.polling"):
        queue = await poll_until_queued(bot)
    assert texts_of(queue) == [(CHATS[0], "sent while Telegram failed")]
    statuses = [call.response_status for call in api.calls_to("getUpdates")]
    assert statuses[:4] == [502, 502, 409, 200]
    calls = api.calls_to("getUpdates")[:3]
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(calls)]
    assert gaps[1] > gaps[0]  # each failure waits longer than the one before
    failures = [r for r in caplog.records if r.getMessage().startswith("getUpdates failed")]
    assert len(failures) == 3 and all(r.levelno == logging.WARNING for r in failures)
    assert any(r.getMessage() == "getUpdates works again" for r in caplog.records)
    assert TEST_TOKEN not in caplog.text


async def test_flood_control_waits_what_telegram_asks(
    api: BotApiDouble, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "FLOOD_SLACK", 0.0)
    api.inject(Fault(method="getUpdates", status=429, retry_after=1, times=1))
    api.send_text(CHATS[0], "sent during flood control")
    queue = await poll_until_queued(bot)
    refused, retried = api.calls_to("getUpdates")[:2]
    assert refused.response_status == 429
    assert retried.time - refused.time >= 1.0  # not one poll before the second is up
    assert texts_of(queue) == [(CHATS[0], "sent during flood control")]


async def test_a_rejected_token_stops_polling_and_says_so(api: BotApiDouble, bot: Bot) -> None:
    failures: list[BaseException] = []
    api.inject(Fault(method="getUpdates", status=401, times=-1))
    poller = Poller(bot, asyncio.Queue(), timeout=1, on_failed=failures.append)
    await poller.start()
    await wait_until(lambda: bool(failures))
    assert isinstance(failures[0], InvalidToken)
    with pytest.raises(InvalidToken):
        poller.raise_failure()
    await poller.stop()
    assert len(api.calls_to("getUpdates")) == 1  # no retries, and no confirming poll


def test_a_token_revoked_while_the_bot_runs_stops_it_with_exit_2(
    api: BotApiDouble, tmp_path: Path
) -> None:
    process = start_bot(api, tmp_path)
    try:
        api.wait_for(lambda d: bool(d.calls_to("getUpdates")), timeout=30)
        api.inject(Fault(method="getUpdates", status=401, times=-1))
        api.send_text(CHATS[0], "/start")  # ends the long poll under way; the next is refused
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = terminate(process)
    stderr = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert code == 2, stderr
    assert stderr.splitlines()[-1].startswith("error: BOT_TOKEN: Telegram rejected the token")
    assert TEST_TOKEN.split(":")[1] not in stderr
    assert "Traceback" not in stderr


def test_the_bot_answers_past_an_update_it_cannot_read(api: BotApiDouble, tmp_path: Path) -> None:
    # python -m bot as it runs: one unreadable update ahead of a user's /start.
    unreadable = api.push_update({"message": {"message_id": 1}})
    api.send_text(CHATS[0], "/start")
    process = start_bot(api, tmp_path)
    try:
        welcome = api.wait_for_messages(CHATS[0], 1, timeout=30)
    finally:
        code = terminate(process)
    stderr = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert code == 0, stderr
    assert "briefs you on one news story" in welcome[0].text, stderr
    assert f"update {unreadable} could not be read" in stderr
    assert api.pending_updates() == 0


async def test_without_the_answers_body_an_unreadable_answer_is_retried_not_fatal(
    api: BotApiDouble, bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(polling, "FIRST_BACKOFF", 0.05)
    api.push_update({"message": {"message_id": 1}})  # no date, no chat: PTB cannot read it
    failures: list[BaseException] = []
    queue: asyncio.Queue[object] = asyncio.Queue()
    poller = Poller(bot, queue, timeout=1, on_failed=failures.append)
    with caplog.at_level(logging.INFO, logger="bot.chat.polling"):
        await poller.start()
        await wait_until(lambda: len(api.calls_to("getUpdates")) >= 3)
        await poller.stop()
    assert failures == []  # the bot goes on
    assert queue.empty()
    assert api.pending_updates() == 1  # never confirmed: it is still Telegram's
    errors = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(errors) >= 2 and all(r.levelno == logging.ERROR and r.exc_info for r in errors)


async def test_an_update_that_cannot_be_read_is_skipped_by_its_id_and_the_rest_queued(
    api: BotApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    # As the bot polls: getUpdates through the request that keeps each answer's body.
    answers = PollingRequest()
    api.send_text(CHATS[0], "before it")
    unreadable = api.push_update({"message": {"message_id": 1, "text": "a private word"}})
    api.send_text(CHATS[1], "after it")
    queue: asyncio.Queue[object] = asyncio.Queue()
    async with Bot(TEST_TOKEN, base_url=api.base_url, get_updates_request=answers) as bot:
        poller = Poller(bot, queue, timeout=1, answers=answers)
        with caplog.at_level(logging.INFO, logger="bot.chat.polling"):
            await poller.start()
            await wait_until(lambda: queue.qsize() == 2)
            api.send_text(CHATS[2], "later")  # polling goes on past it
            await wait_until(lambda: queue.qsize() == 3)
            await poller.stop()
    assert texts_of(queue) == [(CHATS[0], "before it"), (CHATS[1], "after it"), (CHATS[2], "later")]
    assert api.pending_updates() == 0  # the skipped one confirmed too: it never comes again
    ours = [
        r for r in caplog.records if r.name == "bot.chat.polling" and r.levelno >= logging.WARNING
    ]
    # Said once, by its id and the error's class (PTB 22.8 trips on the missing date).
    assert [r.levelno for r in ours] == [logging.ERROR]
    assert re.fullmatch(
        rf"update {unreadable} could not be read \(\w+\); skipped", ours[0].getMessage()
    )
    assert all("a private word" not in r.getMessage() for r in ours)


async def test_timeouts_in_a_row_are_retried_at_once_and_said_once(
    api: BotApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    # Answers slower than the read timeout, as on a network that drops packets.
    api.inject(Fault(method="getUpdates", status=200, delay=0.6, times=4))
    api.send_text(CHATS[0], "sent while the network was slow")
    slow = HTTPXRequest(read_timeout=0.2)
    async with Bot(TEST_TOKEN, base_url=api.base_url, get_updates_request=slow) as bot:
        with caplog.at_level(logging.INFO, logger="bot.chat.polling"):
            queue = await poll_until_queued(bot, long_poll=0)
    assert texts_of(queue) == [(CHATS[0], "sent while the network was slow")]
    said = [r.getMessage() for r in caplog.records]
    assert said.count("getUpdates timed out 3 times in a row; still trying") == 1
    assert said[-1] == "getUpdates works again"
