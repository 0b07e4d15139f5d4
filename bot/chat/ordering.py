"""Updates of different chats handled concurrently, each chat's in the order they arrived.

python-telegram-bot handles one update at a time by default, so with a 50 ms round trip to
the Bot API a bot answers about 20 updates a second whatever its CPU could do. Its own
``concurrent_updates=True`` lifts that but lets a user's ``/subscribe`` and ``/status``
answer in either order. :class:`ChatOrderedProcessor` is the middle way, through PTB's
extension point for it (:class:`telegram.ext.BaseUpdateProcessor`): every chat is a queue,
the queues run side by side, at most ``concurrency`` handlers at a time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

ADMITTED_LIMIT = 1 << 30
"""PTB's own semaphore admits every update at once; ours bounds the running ones.

PTB takes its semaphore *before* it hands an update to the processor. Were that the bound,
an update waiting for its chat's earlier one would hold a slot while doing nothing, and the
order in which waiting updates get in would be the semaphore's, not the chat's. Admitting
all at once means :meth:`ChatOrderedProcessor.do_process_update` is entered in arrival order
(PTB starts one task per update, in order, and nothing before our code yields), which is
where each update takes its place in its chat's queue.
"""


def ordering_key(update: object) -> Hashable | None:
    """What an update must keep its order within: its chat, else its user; None: nothing.

    A callback query on a message belongs to that message's chat; an inline query or a
    callback from an inline message has no chat, so its user's queries keep their order.
    """
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs updates concurrently across chats and in arrival order within each chat."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(max_concurrent_updates=ADMITTED_LIMIT)
        if concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        self.concurrency = concurrency
        self._running = asyncio.Semaphore(concurrency)
        # The last update admitted for each key: the next one of that key waits for it.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    @property
    def waiting_chats(self) -> int:
        """Keys with an update admitted and not yet finished (for tests and health)."""
        return len(self._tails)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's previous update, then for a free slot, then handle it."""
        key = ordering_key(update)
        previous = self._tails.get(key) if key is not None else None
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key is not None:
            self._tails[key] = finished
        try:
            if previous is not None:
                # asyncio.wait does not cancel ``previous`` if this task is cancelled.
                await asyncio.wait((previous,))
            async with self._running:
                await coroutine
        except asyncio.CancelledError:
            # Stopped before it ran (shutdown): close it rather than leave it never awaited.
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            raise
        finally:
            finished.set_result(None)
            if key is not None and self._tails.get(key) is finished:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to set up: the queues are made as updates arrive."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB awaits the tasks it started before it shuts us down."""


ADMITTED_PER_RUNNING = 2
"""Updates held in memory per update handled at once: the running ones and as many waiting."""
QUEUED_LIMIT = 100
"""Updates fetched and not yet admitted: one ``getUpdates`` answer (at most 100 updates)."""
PACED_ABOVE = 64
"""Updates in hand from which each further one is handed out a turn of the event loop later.

PTB's fetcher starts a task for every update it can get without yielding in between, so a
backlog of a hundred starts a hundred handlers in one turn of the loop, and everything else
waits behind them: the answer to ``getUpdates``, the answers to the replies. Once this many
are in hand, each ``get`` lets one turn pass first, so handlers start one a turn, as the loop
keeps up. Below it nothing waits: a few users' commands are bound by the round trips, and a
turn for each of them made 50 users at 50 ms 8% slower (tests/benchmarks, README).
"""


class AdmissionQueue(asyncio.Queue[object]):
    """PTB's update queue, handing out an update only while fewer than ``limit`` are in hand.

    PTB takes every update it is given and starts a task for it at once (see
    :data:`ADMITTED_LIMIT`), so when the bot falls behind, every update Telegram holds for
    it comes into memory: with 2,000 users each waiting for a reply, the long-day benchmark
    held up to 2,000 at once (the update's objects, its task, its context), and the peak
    stayed as resident memory after they were gone. Holding back here keeps that bounded:
    the queue fills up to ``maxsize``, then polling waits before fetching more (and a
    webhook request waits to be answered), and the rest stay with Telegram, which keeps
    them in order. PTB calls :meth:`task_done` once per update it got from :meth:`get`,
    when the update has been handled.
    """

    def __init__(self, limit: int, maxsize: int = QUEUED_LIMIT) -> None:
        super().__init__(maxsize=maxsize)
        if limit < 1:
            raise ValueError("limit must be a positive integer")
        self.limit = limit
        self._in_hand = 0
        self._room = asyncio.Event()

    @property
    def in_hand(self) -> int:
        """Updates handed out and not yet done (for tests)."""
        return self._in_hand

    async def get(self) -> object:
        if self._in_hand >= PACED_ABOVE:
            await asyncio.sleep(0)  # one turn of the loop between handlers started (see above)
        while self._in_hand >= self.limit:
            self._room.clear()
            await self._room.wait()
        item = await super().get()
        self._in_hand += 1
        return item

    def task_done(self) -> None:
        super().task_done()
        # PTB also calls this for updates it drops at shutdown, which were never handed out.
        self._in_hand = max(0, self._in_hand - 1)
        self._room.set()
