"""Long polling: ``getUpdates`` in a loop, each answer put into the application's queue.

python-telegram-bot's ``Updater`` does the same job, but its loop starts every
``getUpdates`` as a new task beside a task waiting for the stop signal, and waits for
either. With hundreds of updates being handled, each of those steps waits for a turn of a
busy event loop. A poll brings at most 100 updates, so the time between polls bounds how
many updates a second the bot can take: at 1,000 users and 150 ms to the Bot API
(tests/benchmarks) a poll left every 288 to 296 ms with the ``Updater`` and every 209 to 217 ms
with this loop, which took the bot from about 350 to about 475 replies a second. Here the
next request leaves as soon as the last answer is queued, and stopping cancels the request
under way instead.

The price is at no latency at all, where nothing is hidden: polled faster, a bot with
1,000 busy users runs all its 256 handlers at once, and each reply costs more CPU among
them (6 to 17% fewer replies a second in the same runs; README, Performance). Handlers
now start one a loop turn once many are in hand (:data:`bot.chat.ordering.PACED_ABOVE`),
which gave about 12% of it back.

What the ``Updater`` did is kept: the webhook is deleted first (Telegram refuses
``getUpdates`` beside one), a timeout is retried at once, flood control waits what it asks,
other errors back off up to :data:`MAX_BACKOFF`, and on stop one more ``getUpdates``
confirms every update queued, so none comes again after a restart. A rejected token, with
which the ``Updater`` stopped polling and left the bot running deaf, stops the bot. An update is confirmed only once it is in the queue: one fetched and not yet
queued when polling stops (the queue is bounded, see :class:`bot.chat.ordering.AdmissionQueue`)
stays with Telegram and comes again. An update python-telegram-bot cannot read is
skipped, as the webhook refuses it, rather than failing every poll: PTB reads a
``getUpdates`` answer whole, so the updates of that answer are read again one by one from
the answer as parsed (:class:`bot.chat.transport.PollingRequest`) and only the unreadable one is left
out, said by its id.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.chat.app import running
from bot.chat.context import BriefApplication
from bot.chat.transport import PollingRequest, retry_after_seconds

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10
"""Seconds Telegram holds a ``getUpdates`` open while there is nothing to send."""
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
"""Seconds between tries while ``getUpdates`` keeps failing: from the first, times 1.5 each
time, up to this (as python-telegram-bot's ``Updater``)."""
TIMEOUTS_WARNED = 3
"""Timeouts of ``getUpdates`` in a row after which a warning says so (before: none)."""
FLOOD_SLACK = 0.5
"""Seconds added to what flood control asks, so the next poll is not a hair too early."""


class Poller:
    """Fetches updates with ``getUpdates`` and puts them, in order, into ``queue``."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        *,
        timeout: int = POLL_TIMEOUT,
        on_failed: Callable[[BaseException], None] | None = None,
        answers: PollingRequest | None = None,
    ) -> None:
        self.bot = bot
        self.queue = queue
        self.timeout = timeout
        self.on_failed = on_failed
        """Called once if polling stops by itself (a rejected token): the bot cannot go on."""
        self.answers = answers
        """``bot``'s getUpdates request, which keeps each answer: with it an update
        that cannot be read is skipped; without it (the console's in-process API) the
        answer is asked for again, as any failed call."""
        self.offset = 0
        """The next update wanted: one past the last one queued (0: whatever Telegram has)."""
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def start(self) -> None:
        """Delete any webhook (errors raised: the bot cannot poll), then poll in the
        background."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._poll(), name="polling")
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        """Stop polling (the request under way is cut), then confirm what was queued."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._failure is not None:
            return  # the token was rejected: nothing more can be asked
        try:
            # Without this, Telegram would send the updates of the last answer again on
            # the next start: it learns that they were taken only from the next offset.
            await self.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        except Exception as error:  # stopping goes on, whatever the answer
            logger.warning(
                "could not confirm the last updates to Telegram (%s); they may come again "
                "after a restart",
                error,
            )

    def raise_failure(self) -> None:
        """Raise what stopped polling by itself, if anything did."""
        if self._failure is not None:
            raise self._failure

    def _ended(self, task: asyncio.Task[None]) -> None:
        failure = None if task.cancelled() else task.exception()
        if failure is None:
            return
        self._failure = failure
        if self.on_failed is not None:
            self.on_failed(failure)

    async def _poll(self) -> None:
        backoff = 0.0
        timeouts = 0
        while True:
            if self.answers is not None:
                self.answers.last_answer = None  # an answer not read is never taken for this one
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
                )
            except TimedOut:
                # Once is the network's hiccup: ask again at once. Again and again, the bot
                # hears nothing, and whoever runs it should know.
                timeouts += 1
                if timeouts == TIMEOUTS_WARNED:
                    logger.warning(
                        "getUpdates timed out %d times in a row; still trying", TIMEOUTS_WARNED
                    )
                continue
            except RetryAfter as error:
                wait = retry_after_seconds(error) + FLOOD_SLACK
                logger.warning("getUpdates: flood control; polling again in %.1f s", wait)
                await asyncio.sleep(wait)
                continue
            except InvalidToken:
                logger.error("getUpdates: Telegram rejected the token; polling stopped")
                raise
            except TelegramError as error:
                backoff = _next_backoff(backoff)
                logger.warning("getUpdates failed (%s); polling again in %.1f s", error, backoff)
                await asyncio.sleep(backoff)
                continue
            except Exception:
                # An answer python-telegram-bot cannot read (an update of a shape it does
                # not know). Read one by one, the readable updates are queued and the rest
                # skipped; else nothing was queued and it comes again, said loudly and
                # retried slowly, rather than stopping the bot (a restart would meet it too).
                one_by_one = self._read_one_by_one()
                if one_by_one is not None:
                    await self._queue(one_by_one)
                    continue
                backoff = _next_backoff(backoff)
                logger.exception(
                    "getUpdates: the answer could not be read; again in %.1f s", backoff
                )
                await asyncio.sleep(backoff)
                continue
            if backoff or timeouts >= TIMEOUTS_WARNED:
                logger.info("getUpdates works again")
            backoff, timeouts = 0.0, 0
            await self._queue([(update.update_id, update) for update in updates])

    async def _queue(self, updates: list[tuple[int, Update | None]]) -> None:
        """Queue each update in order (None: one skipped); each is confirmed once queued."""
        for update_id, update in updates:
            if update is not None:
                # Waits while the queue is full: the bot holds no more than it can handle.
                await self.queue.put(update)
            self.offset = update_id + 1

    def _read_one_by_one(self) -> list[tuple[int, Update | None]] | None:
        """The last answer's updates, each read on its own (None for one that cannot be);
        None if the answer is not kept or is not a list of updates with their ids."""
        answer = None if self.answers is None else self.answers.last_answer
        raw = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(raw, list) or not all(
            isinstance(item, dict) and isinstance(item.get("update_id"), int) for item in raw
        ):
            return None
        read: list[tuple[int, Update | None]] = []
        for item in raw:
            try:
                update = Update.de_json(item, self.bot)
                if isinstance(self.bot, ExtBot):
                    self.bot.insert_callback_data(update)  # as ExtBot.get_updates does
            except Exception as error:  # whatever a wrong shape makes PTB trip on
                # The error's class, not the content: an update may carry a private message.
                logger.error(
                    "update %d could not be read (%s); skipped",
                    item["update_id"],
                    type(error).__name__,
                )
                update = None
            read.append((item["update_id"], update))
        return read


def _next_backoff(backoff: float) -> float:
    """The wait after another failure in a row (``backoff`` 0: the first)."""
    return FIRST_BACKOFF if not backoff else min(MAX_BACKOFF, backoff * 1.5)


@asynccontextmanager
async def polling(
    application: BriefApplication, *, on_failed: Callable[[BaseException], None] | None = None
) -> AsyncIterator[Poller]:
    """Poll for ``application`` (started) while inside; ``on_failed`` as :class:`Poller`'s."""
    poller = Poller(
        application.bot,
        application.update_queue,
        on_failed=on_failed,
        answers=application.bot_data.updates_request,
    )
    await poller.start()
    try:
        yield poller
    finally:
        await poller.stop()


async def poll_until_stopped(application: BriefApplication) -> None:
    """Run ``application`` and poll until SIGTERM or SIGINT (raising a rejected token).

    Then polling stops first, the updates already queued are handled, and the application
    stops as ``running`` stops it.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = (signal.SIGTERM, signal.SIGINT)
    for signum in handled:
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with (
            running(application),
            polling(application, on_failed=lambda error: stopping.set()) as poller,
        ):
            logger.info("polling Telegram for updates")
            await stopping.wait()
            poller.raise_failure()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def run_polling(application: BriefApplication) -> None:
    """Serve Telegram by long polling until SIGTERM or SIGINT."""
    asyncio.run(poll_until_stopped(application))
