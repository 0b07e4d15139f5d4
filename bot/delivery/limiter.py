"""Pacing of outgoing messages: a global rate, one message per second per chat, and pauses.

Each caller reserves the next free slot before sleeping, so concurrent senders share the
rate instead of racing for it; a 429's ``retry_after`` pauses everyone, including slots
already reserved (they wake, see the pause and wait again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PER_CHAT_INTERVAL = 1.0
"""Telegram's limit for one chat: about one message per second."""


class SendLimiter:
    """Hands out send slots at most ``rate`` per second overall and one per second per chat."""

    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}

    async def acquire(self, chat_id: int) -> None:
        """Wait for a slot to send one message to ``chat_id``."""
        while True:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until, self._chat_next.get(chat_id, 0.0))
            # Reserve before sleeping: the next caller queues behind this slot.
            self._next_slot = slot + self.interval
            self._chat_next[chat_id] = slot + self.per_chat_interval
            if slot > now:
                await self._sleep(slot - now)
            if self._clock() >= self._paused_until:
                self._forget_old(self._clock())
                return
            # A pause began while this caller slept: its slot is void, queue again.

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (Telegram said ``retry_after``)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause, 0 when not paused."""
        return max(0.0, self._paused_until - self._clock())

    def _forget_old(self, now: float) -> None:
        # Keep memory bounded by the chats of the last second, not by all chats ever seen.
        if len(self._chat_next) > 1024:
            self._chat_next = {chat: t for chat, t in self._chat_next.items() if t > now}
