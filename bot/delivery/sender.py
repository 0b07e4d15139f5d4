"""The one task that drains the delivery ledger.

Order of events for one delivery, and why nobody is skipped or messaged twice:

1. ``claim_due`` marks a batch ``sending`` and commits, before any of it is sent;
2. each message is sent, then its outcome (``sent`` / ``blocked`` / ``failed`` / back to
   ``pending`` for a retry) is committed once Telegram has answered; the sender waits for
   that commit before it counts the message as delivered;
3. at start, rows still ``sending`` are put back to ``pending``.

A crash can therefore only leave ``sending`` rows behind; each was either not sent yet
(sent once after the restart) or sent without its outcome committed (the message in
flight: sent twice). Rows never leave the ledger without an outcome, so nobody is skipped.

When the database goes away while the process lives, the drain stops at the first write
that fails, keeps what it could not write and writes it first once the database answers
(:mod:`bot.delivery.outage`): nothing is lost, and nothing sent is sent again.

What keeps a fast broadcast fast (a thousand messages a second with ``allow_paid_broadcast``
is one message a millisecond, for one process):

* ``sent`` outcomes are committed together (:class:`SentOutcomes`): whoever has one while
  no commit is running writes every outcome waiting, so there is one transaction per
  commit's worth of answers rather than one per message. The messages "in flight" at a
  crash are those being sent plus those whose answer waits for that commit: a few
  milliseconds' worth more.
* Whether a claimed row is still due (its chat may have left since it was claimed) is asked
  for a chunk of rows at a time (:attr:`SenderPolicy.recheck`, about 50 ms of sending), not
  for each message.
* The workers never wait for one another between batches: the next batch is claimed as
  soon as the last row of this one has been handed out (:class:`_Feed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import metrics
from bot.delivery.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    RetryLater,
    TransientFailure,
)
from bot.delivery.limiter import SendLimiter
from bot.delivery.outage import Bounded, Unrecorded, Unsettled, describe
from bot.delivery.ports import Claimed, Ledger, Message, Transport

logger = logging.getLogger(__name__)


SLOW_ROUND_TRIP = 0.25
"""Seconds a Bot API call may take before the sender falls behind its rate."""
RECHECK_WINDOW = 0.05
"""Seconds of sending covered by one "still due?" query (see :attr:`SenderPolicy.recheck`)."""
COMMIT_WINDOW = 0.02
"""Seconds a commit of outcomes waits for more answers, at rates that bring several."""


@dataclass(frozen=True)
class SenderPolicy:
    """How hard to try: concurrency, batch size and the retry schedule."""

    concurrency: int = 8
    batch: int = 200
    recheck: int = 1
    """Claimed rows asked about at once, just before they are handed out: whether each is
    still due (its chat did not leave since the claim)."""
    commit_window: float = 0.0
    """Seconds a commit of ``sent`` outcomes waits for more answers to write with it."""
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    idle_poll: float = 5.0
    """Look at the ledger at least this often even when nobody wakes the sender."""
    store_timeout: float | None = 5.0
    """Seconds a call to the ledger may take before it counts as failed (see run());
    None: no limit (the store's :attr:`~bot.store.Store.time_limit`)."""
    outage_poll: float = 1.0
    """Seconds between tries while the store fails (at most ``idle_poll``): how soon a
    broadcast resumes once the database is back."""

    @classmethod
    def for_rate(cls, rate: float) -> SenderPolicy:
        """Enough sends in flight for ``rate`` at a slow round trip (a quarter second),
        batches that outlast them, one "still due?" query per 50 ms of sending, and
        commits of outcomes 20 ms apart when that groups several."""
        concurrency = max(cls.concurrency, math.ceil(rate * SLOW_ROUND_TRIP))
        return cls(
            concurrency=concurrency,
            batch=max(cls.batch, 2 * concurrency),
            recheck=max(1, int(rate * RECHECK_WINDOW)),
            commit_window=COMMIT_WINDOW if rate * COMMIT_WINDOW >= 2 else 0.0,
        )

    def backoff(self, attempts: int) -> float:
        """Delay before attempt ``attempts + 1``: exponential, capped."""
        return float(min(self.backoff_cap, self.backoff_base * 2**attempts))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeliverySender:
    """Drains due deliveries oldest first, several in flight, within the limiter's pace."""

    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        limiter: SendLimiter,
        policy: SenderPolicy = SenderPolicy(),
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ledger = ledger
        # Time-limited: a silent database must not hang the workers until they are cancelled.
        self._store: Ledger = Bounded(ledger, policy.store_timeout)
        self.transport = transport
        self.limiter = limiter
        self.policy = policy
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._messages: dict[int, asyncio.Future[Message]] = {}
        self._unsettled = Unsettled()

    def wake(self) -> None:
        """New deliveries were published: look at the ledger now."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until :meth:`stop`; errors of the store are logged and retried."""
        resumed = False
        while not self._stopping.is_set():
            # Cleared before looking, so a wake() during the drain is not lost.
            self._wake.clear()
            try:
                # What an outage left unwritten first: before the requeue below (whose rows
                # these are not, once recorded) and before claiming anything again.
                if await self._unsettled.settle(self._store):
                    self._unsettled.answered()
                if not resumed:
                    requeued = await self._store.requeue_in_flight()
                    resumed = True
                    if requeued:
                        logger.info("resuming %d deliveries in flight at the last stop", requeued)
                claimed = await self.drain_once()
                self._unsettled.answered()
                if claimed:
                    continue
                timeout = await self._idle_time()
            except Exception as error:
                timeout = min(self.policy.outage_poll, self.policy.idle_poll)
                self._unsettled.failed(error, timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def rearm(self) -> None:
        """Allow :meth:`run` again after a :meth:`stop` (leadership regained)."""
        self._stopping.clear()

    def stop(self) -> None:
        """Finish the sends under way, start no other: :meth:`run` then returns.

        Deliveries claimed but not yet sent are released (due again at once, for whoever
        sends next), or kept until the store answers if it cannot be reached (resumed at
        the next start if the process stops first). None reached a chat: none goes twice.
        """
        self._stopping.set()
        self._wake.set()

    async def _idle_time(self) -> float:
        due = await self._store.next_due_at()
        if due is None:
            return self.policy.idle_poll
        wait = (due - self._clock()).total_seconds()
        return min(max(wait, 0.0), self.policy.idle_poll)

    async def drain_once(self) -> int:
        """Send everything due, several in flight; return how many rows were claimed."""
        feed = _Feed(self._store, self.policy, self._clock, self._stopping)
        outcomes = SentOutcomes(self._store, self.policy.commit_window)

        async def worker() -> None:
            # Ends when the feed does: nothing due, stopping, or the ledger failed (the
            # feed keeps that error; it is raised below, once the sends under way are done).
            while (delivery := await feed.next()) is not None:
                try:
                    message = await self._broadcast_message(delivery.broadcast_id)
                except Exception:
                    logger.exception("could not read broadcast %d", delivery.broadcast_id)
                    feed.give_back(delivery)  # not sent: released with the rest
                    continue
                try:
                    if not await self._deliver(delivery, message, outcomes):
                        feed.give_back(delivery)
                except Unrecorded as unrecorded:
                    # Kept to write once the store answers; nothing more is sent meanwhile,
                    # so that a crash during the outage resends little.
                    self._unsettled.keep(delivery, unrecorded.message_id)
                    feed.fail(unrecorded.error)

        # A task group: if one worker is cancelled or dies, so do the others, and none is
        # left running behind the drain.
        async with asyncio.TaskGroup() as group:
            for _ in range(self.policy.concurrency):
                group.create_task(worker())
        await self._release(feed.unsent())
        if feed.failure is not None:
            # run() logs it and looks again after a pause, not at once.
            raise feed.failure
        return feed.claimed

    async def _release(self, unsent: Sequence[Claimed]) -> None:
        if not unsent:
            return
        try:
            await self._store.release([(row.id, row.claimed_at) for row in unsent])
        except Exception as error:
            # Released once the store answers (or at the next start): none was sent.
            logger.warning(
                "could not release %d claimed deliveries yet: %s", len(unsent), describe(error)
            )
            for row in unsent:
                self._unsettled.keep(row, None)

    async def _deliver(self, delivery: Claimed, message: Message, outcomes: SentOutcomes) -> bool:
        """Send one delivery and record its outcome (else :class:`Unrecorded`); False if
        stopped before sending it."""
        message_id = 0
        parts = message.parts
        try:
            for index, part in enumerate(parts):  # one part by construction, but be safe
                # Each message takes its own slot: the rates hold per message, not per row.
                if not await self.limiter.acquire(delivery.chat_id, stop=self._stopping):
                    # Stopping. A row cut between its parts stays in flight (resumed, all
                    # parts again, at the next start); one not begun is given back.
                    return message_id != 0
                try:
                    if self.limiter.paused_for:
                        # Flood control began while we waited: this slot is void.
                        raise RetryLater(self.limiter.paused_for)
                    message_id = await self.transport.send(
                        delivery.chat_id,
                        part,
                        silent=delivery.silent,
                        keyboard=message.keyboard if index == len(parts) - 1 else None,
                    )
                finally:
                    self.limiter.sent(delivery.chat_id)
        except DeliveryError as error:
            try:
                await self._record_failure(delivery, error)
            except Exception as failure:
                raise Unrecorded(None, failure) from failure
            return True
        try:
            await outcomes.record(delivery.id, message_id)
        except Exception as failure:
            raise Unrecorded(message_id, failure) from failure
        metrics.count_delivery("sent")
        return True

    async def _record_failure(self, delivery: Claimed, error: DeliveryError) -> None:
        """Write what a failed send means for its row: retried later, or closed."""
        if isinstance(error, RetryLater):
            self.limiter.pause(error.after)
            at = self._clock() + timedelta(seconds=error.after)
            await self._store.retry_later(delivery.id, at=at, error=str(error), count_attempt=False)
            metrics.count_delivery("retried")
        elif isinstance(error, ChatUnreachable):
            await self._store.mark_blocked(delivery.id, str(error))
            metrics.count_delivery("blocked")
        elif isinstance(error, ChatMoved):
            await self._store.move_chat(delivery.chat_id, error.new_chat_id)
            await self._store.retry_later(
                delivery.id, at=self._clock(), error=str(error), count_attempt=False
            )
            metrics.count_delivery("retried")
        elif (
            isinstance(error, TransientFailure) and delivery.attempts + 1 < self.policy.max_attempts
        ):
            at = self._clock() + timedelta(seconds=self.policy.backoff(delivery.attempts))
            await self._store.retry_later(delivery.id, at=at, error=str(error))
            metrics.count_delivery("retried")
        else:  # permanent, or transient too many times
            await self._store.mark_failed(delivery.id, str(error))
            metrics.count_delivery("failed")

    async def _broadcast_message(self, broadcast_id: int) -> Message:
        # The task, not its result, is kept: the workers that start a broadcast together
        # share one read instead of each asking the store.
        if broadcast_id not in self._messages:
            if len(self._messages) > 16:  # a handful of live broadcasts at most
                self._messages.clear()
            self._messages[broadcast_id] = asyncio.ensure_future(
                self._store.broadcast_message(broadcast_id)
            )
        reading = self._messages[broadcast_id]
        try:
            return await asyncio.shield(reading)
        except Exception:
            if self._messages.get(broadcast_id) is reading:
                del self._messages[broadcast_id]  # not kept: the next delivery reads again
            raise


class _Feed:
    """Hands claimed deliveries to the workers one at a time, claiming more as they run out.

    Rows are asked about a chunk at a time, just before they are handed out: a row whose
    chat left since the claim is dropped (the store closed it as cancelled). A row waits
    at most for the chunk and for the limiter's queue between that answer and its send.
    """

    def __init__(
        self,
        ledger: Ledger,
        policy: SenderPolicy,
        clock: Callable[[], datetime],
        stopping: asyncio.Event,
    ) -> None:
        self._ledger = ledger
        self._policy = policy
        self._clock = clock
        self._stopping = stopping
        self._lock = asyncio.Lock()
        self._claimed: deque[Claimed] = deque()
        self._ready: deque[Claimed] = deque()
        self._exhausted = False
        self._given_back: list[Claimed] = []
        self.claimed = 0
        """Rows claimed so far."""
        self.failure: Exception | None = None
        """What the ledger raised, if it failed: the feed then hands out nothing more."""

    def give_back(self, delivery: Claimed) -> None:
        """``delivery`` was handed out but not sent (stopping)."""
        self._given_back.append(delivery)

    def fail(self, error: Exception) -> None:
        """The store failed under a worker: hand out nothing more (the drain raises it)."""
        if self.failure is None:
            self.failure = error
        self._exhausted = True

    def unsent(self) -> list[Claimed]:
        """The rows claimed and never sent: to be released."""
        return [*self._claimed, *self._ready, *self._given_back]

    async def next(self) -> Claimed | None:
        """The next delivery to send; None once nothing is due, or when stopping."""
        async with self._lock:
            while not self._ready:
                if self._stopping.is_set() or self._exhausted:
                    return None
                if not self._claimed:
                    try:
                        batch = await self._ledger.claim_due(self._policy.batch, self._clock())
                    except Exception as error:
                        self.failure, self._exhausted = error, True  # nobody takes more rows
                        return None
                    self.claimed += len(batch)
                    self._exhausted = not batch
                    self._claimed.extend(batch)
                    continue
                size = min(self._policy.recheck, len(self._claimed))
                chunk = [self._claimed.popleft() for _ in range(size)]
                try:
                    due = await self._ledger.still_due_among([row.id for row in chunk])
                except Exception as error:
                    self._claimed.extendleft(reversed(chunk))  # unsent: released with the rest
                    self.failure, self._exhausted = error, True
                    return None
                for delivery in chunk:
                    if delivery.id in due:
                        self._ready.append(delivery)
                    else:
                        metrics.count_delivery("cancelled")
            if self._stopping.is_set():
                return None  # what is claimed and not handed out is released
            return self._ready.popleft()


class SentOutcomes:
    """Commits ``sent`` outcomes in groups: one transaction for all the answers waiting.

    Whoever records an outcome while no commit is running writes it, with every outcome
    that arrives meanwhile, until none is left; the others wait for the commit that holds
    theirs. With a ``window``, the writer first waits that long for more to arrive: fewer,
    bigger transactions, for a few more messages in flight should the process crash.
    """

    def __init__(self, ledger: Ledger, window: float = 0.0) -> None:
        self._ledger = ledger
        self._window = window
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._writing = False

    async def record(self, delivery_id: int, message_id: int) -> None:
        """Return once the outcome is committed; raise what the store raised if it failed."""
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery_id, message_id, committed))
        if not self._writing:
            self._writing = True
            try:
                await self._write_all()
            except BaseException:
                # Cancelled while writing for others: nobody else reads this outcome's
                # error (if its commit failed), so read it here rather than leave it unread.
                if committed.done() and not committed.cancelled():
                    committed.exception()
                raise
            finally:
                self._writing = False
        await committed

    async def _write_all(self) -> None:
        group: list[tuple[int, int, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                if self._window:
                    await asyncio.sleep(self._window)
                group, self._waiting = self._waiting, []
                try:
                    await self._ledger.mark_sent_many([(row, sent) for row, sent, _ in group])
                except Exception as error:
                    for *_, committed in group:
                        committed.set_exception(error)
                else:
                    for *_, committed in group:
                        committed.set_result(None)
                group = []
        except BaseException:
            # Cancelled: nobody will write these; their rows stay in flight (resumed at the
            # next start), and those waiting for them must not wait forever.
            for *_, committed in group + self._waiting:
                committed.cancel()
            self._waiting = []
            raise
