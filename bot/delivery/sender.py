"""The one task that drains the delivery ledger.

Order of events for one delivery, and why nobody is skipped or messaged twice:

1. ``claim_due`` marks a batch ``sending`` and commits, before any of it is sent;
2. each message is sent, then its outcome (``sent`` / ``blocked`` / ``failed`` / back to
   ``pending`` for a retry) is committed on its own, right after Telegram answers;
3. at start, rows still ``sending`` are put back to ``pending``.

A crash can therefore only leave ``sending`` rows behind; each was either not sent yet
(sent once after the restart) or sent without its outcome committed (the message in
flight: sent twice). Rows never leave the ledger without an outcome, so nobody is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot import metrics
from bot.delivery.errors import (
    ChatMoved,
    ChatUnreachable,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)
from bot.delivery.limiter import SendLimiter

logger = logging.getLogger(__name__)


class Claimed(Protocol):
    """A delivery handed to the sender by the ledger."""

    @property
    def id(self) -> int: ...
    @property
    def broadcast_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def attempts(self) -> int: ...


class Ledger(Protocol):
    """The part of :class:`bot.store.Store` the sender uses."""

    async def claim_due(self, limit: int, now: datetime | None = None) -> Sequence[Claimed]: ...
    async def mark_sent(self, delivery_id: int, message_id: int) -> None: ...
    async def mark_blocked(self, delivery_id: int, error: str) -> None: ...
    async def mark_failed(self, delivery_id: int, error: str) -> None: ...
    async def retry_later(
        self, delivery_id: int, *, at: datetime, error: str, count_attempt: bool = True
    ) -> None: ...
    async def requeue_in_flight(self) -> int: ...
    async def still_due(self, delivery_id: int) -> bool: ...
    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None: ...
    async def broadcast_parts(self, broadcast_id: int) -> list[str]: ...
    async def next_due_at(self) -> datetime | None: ...


class Transport(Protocol):
    """Sends one message to a chat; returns its message id or raises a DeliveryError."""

    async def send(self, chat_id: int, text: str) -> int: ...


SLOW_ROUND_TRIP = 0.25
"""Seconds a Bot API call may take before the sender falls behind its rate."""


@dataclass(frozen=True)
class SenderPolicy:
    """How hard to try: concurrency, batch size and the retry schedule."""

    concurrency: int = 8
    batch: int = 200
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    idle_poll: float = 5.0
    """Look at the ledger at least this often even when nobody wakes the sender."""

    @classmethod
    def for_rate(cls, rate: float) -> SenderPolicy:
        """Enough sends in flight for ``rate`` at a slow round trip (a quarter second)."""
        return cls(concurrency=max(cls.concurrency, math.ceil(rate * SLOW_ROUND_TRIP)))

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
        self.transport = transport
        self.limiter = limiter
        self.policy = policy
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._parts: dict[int, list[str]] = {}

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
                if not resumed:
                    requeued = await self.ledger.requeue_in_flight()
                    resumed = True
                    if requeued:
                        logger.info("resuming %d deliveries in flight at the last stop", requeued)
                if await self.drain_once():
                    continue
                timeout = await self._idle_time()
            except Exception:
                logger.exception("delivery loop failed; retrying")
                timeout = self.policy.idle_poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def rearm(self) -> None:
        """Allow :meth:`run` again after a :meth:`stop` (leadership regained)."""
        self._stopping.clear()

    def stop(self) -> None:
        """Finish the sends under way, start no other: :meth:`run` then returns.

        Deliveries claimed but not yet sent stay in flight in the ledger and are resumed
        at the next start; none of them reached a chat, so none is sent twice.
        """
        self._stopping.set()
        self._wake.set()

    async def _idle_time(self) -> float:
        due = await self.ledger.next_due_at()
        if due is None:
            return self.policy.idle_poll
        wait = (due - self._clock()).total_seconds()
        return min(max(wait, 0.0), self.policy.idle_poll)

    async def drain_once(self) -> int:
        """Claim one batch of due deliveries and settle every one of them."""
        batch = await self.ledger.claim_due(self.policy.batch, self._clock())
        pending = iter(batch)

        async def worker() -> None:
            for delivery in pending:  # shared iterator: each delivery goes to one worker
                try:
                    await self._deliver(delivery)
                except Exception:
                    # The store failed to record an outcome: the row stays in flight and is
                    # resumed at the next start. One bad row must not stop the others.
                    logger.exception("delivery %d to chat %d failed", delivery.id, delivery.chat_id)

        # A task group: if one worker is cancelled or dies, so do the others, and none is
        # left running behind the next batch.
        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.policy.concurrency, len(batch))):
                group.create_task(worker())
        return len(batch)

    async def _deliver(self, delivery: Claimed) -> None:
        parts = await self._broadcast_parts(delivery.broadcast_id)
        message_id = 0
        try:
            for part in parts:  # one part by construction (see DigestLibrary), but be safe
                # The chat may have left since the row was claimed. Asked before waiting for
                # a slot, so that the slot and the send are not split by a database round
                # trip (its jitter would bunch sends); a chat leaving during the wait itself,
                # a fraction of a second, is the one window left.
                if not await self.ledger.still_due(delivery.id):
                    metrics.count_delivery("cancelled")
                    return
                # Each message takes its own slot: the rates hold per message, not per row.
                if not await self._unless_stopped(self.limiter.acquire(delivery.chat_id)):
                    return  # stopping: the row stays in flight and is resumed at next start
                try:
                    if self.limiter.paused_for:
                        # Flood control began while we waited: this slot is void.
                        raise RetryLater(self.limiter.paused_for)
                    message_id = await self.transport.send(delivery.chat_id, part)
                finally:
                    self.limiter.sent(delivery.chat_id)
        except RetryLater as error:
            self.limiter.pause(error.after)
            at = self._clock() + timedelta(seconds=error.after)
            await self.ledger.retry_later(delivery.id, at=at, error=str(error), count_attempt=False)
            metrics.count_delivery("retried")
        except ChatUnreachable as error:
            await self.ledger.mark_blocked(delivery.id, str(error))
            metrics.count_delivery("blocked")
        except ChatMoved as error:
            await self.ledger.move_chat(delivery.chat_id, error.new_chat_id)
            await self.ledger.retry_later(
                delivery.id, at=self._clock(), error=str(error), count_attempt=False
            )
            metrics.count_delivery("retried")
        except TransientFailure as error:
            if delivery.attempts + 1 >= self.policy.max_attempts:
                await self.ledger.mark_failed(delivery.id, str(error))
                metrics.count_delivery("failed")
            else:
                at = self._clock() + timedelta(seconds=self.policy.backoff(delivery.attempts))
                await self.ledger.retry_later(delivery.id, at=at, error=str(error))
                metrics.count_delivery("retried")
        except PermanentFailure as error:
            await self.ledger.mark_failed(delivery.id, str(error))
            metrics.count_delivery("failed")
        else:
            await self.ledger.mark_sent(delivery.id, message_id)
            metrics.count_delivery("sent")

    async def _unless_stopped(self, waiting: Coroutine[Any, Any, None]) -> bool:
        """Wait for ``waiting`` unless stop() comes first (then it is cancelled: a limiter
        slot not yet taken is simply not taken)."""
        if self._stopping.is_set():
            waiting.close()
            return False
        wait = asyncio.ensure_future(waiting)
        stopped = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({wait, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for future in (wait, stopped):
            future.cancel()
        await asyncio.gather(wait, stopped, return_exceptions=True)
        return not self._stopping.is_set()

    async def _broadcast_parts(self, broadcast_id: int) -> list[str]:
        if broadcast_id not in self._parts:
            if len(self._parts) > 16:  # a handful of live broadcasts at most
                self._parts.clear()
            self._parts[broadcast_id] = await self.ledger.broadcast_parts(broadcast_id)
        return self._parts[broadcast_id]
