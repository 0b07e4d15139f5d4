"""Pacing of outgoing messages: a global rate, one message per second per chat, and pauses.

Senders take turns: the one holding the turn waits until its send may start, then the
next slot is set from the moment it actually went, not from when it was planned. So the
rate holds for real send times even when the event loop is late to wake someone, and a
429's ``retry_after`` stops everyone, whoever was next. The bot's replies do not wait for
a slot, but each one uses one up (:meth:`SendLimiter.take_unpaced`): Telegram counts every
message of the bot against the same limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

LATE_ALLOWANCE = 0.010
"""Seconds a wake-up may be late and still keep its slot on the planned schedule. With the
3% safety margin a one-second window holds at most ``(1 s + this) / interval + 1`` sends,
under the rate while this stays under ~29 ms at 30/s and at 1000/s alike; 10 ms leaves
the rest, about 20 ms, for jitter on the way to Telegram. At 1000/s it is ten slots: a stall of the
event loop up to 10 ms (a group commit, a garbage collection) is caught up, not lost."""
IN_FLIGHT_POLL = 0.05
"""How often a sender waiting for a chat that has a message in flight looks again."""
PER_CHAT_INTERVAL = 1.0
"""Telegram's limit for one chat: about one message per second."""
SWEEP_AT_LEAST = 1024
"""Chats remembered before the first sweep of those whose interval has passed."""
SAFETY_MARGIN = 1.03
"""Slots 3% further apart than the rate asks, so that jitter between here and Telegram
cannot push a second over the limit. 2% left 10 ms for it, and a clean CI run under
coverage saw 21 sends arrive within one second at 20/s: a request can take that much
longer than the one a second before it. At 30/s this sends 29.1 a second (0.971x)."""


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
        self.interval = SAFETY_MARGIN / rate
        self.per_chat_interval = per_chat_interval * SAFETY_MARGIN
        self._clock = clock
        self._sleep = sleep
        self._turn = asyncio.Lock()
        self._next_slot = float("-inf")
        self._paused_until = float("-inf")
        self._chat_next: dict[int, float] = {}
        self._sweep_at = SWEEP_AT_LEAST

    async def acquire(self, chat_id: int, stop: asyncio.Event | None = None) -> bool:
        """Wait until one message may be sent to ``chat_id``, then claim that moment.

        Call :meth:`sent` once the message has gone (or failed): the next message to the
        same chat waits a full interval from then, so the gap holds as Telegram sees it
        even when one request takes longer than another. Returns False, claiming nothing,
        if ``stop`` is set first (noticed within :data:`IN_FLIGHT_POLL`).
        """
        async with self._turn:
            while True:
                if stop is not None and stop.is_set():
                    return False
                ready_at = max(
                    self._next_slot, self._paused_until, self._chat_next.get(chat_id, -1.0)
                )
                wait = ready_at - self._clock()
                if wait <= 0:
                    break
                # A pause may begin meanwhile, and a chat in flight has no time yet: look
                # again after a while.
                await self._sleep(min(wait, IN_FLIGHT_POLL))
            now = self._clock()
            # Keep to the planned schedule when this wake-up was only a little late (every
            # sleep overshoots a bit, and resetting from the actual time would lose that
            # much rate on every message); after a real stall, start a new schedule from
            # now, so that late senders cannot bunch up.
            on_time = now - ready_at <= LATE_ALLOWANCE
            self._next_slot = (ready_at if on_time else now) + self.interval
            self._chat_next[chat_id] = float("inf")  # until sent() says when it went
            self._forget_old(now)
            return True

    def take_unpaced(self) -> None:
        """A message went out without waiting for a slot (a reply): count it all the same.

        The reply took the next slot (or, when none was near, one now): the slot after it is
        the next one handed out, so replies and broadcasts together stay within the rate.
        The reply itself is not delayed.
        """
        self._next_slot = max(self._next_slot, self._clock()) + self.interval

    def sent(self, chat_id: int) -> None:
        """The message to ``chat_id`` has been answered: its next one waits from now."""
        self._chat_next[chat_id] = self._clock() + self.per_chat_interval

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (Telegram said ``retry_after``)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause, 0 when not paused."""
        return max(0.0, self._paused_until - self._clock())

    @property
    def remembered_chats(self) -> int:
        """How many chats' per-chat gaps are remembered (old ones are swept away)."""
        return len(self._chat_next)

    @property
    def sweep_at(self) -> int:
        """The number of remembered chats past which the next send sweeps the old ones."""
        return self._sweep_at

    def _forget_old(self, now: float) -> None:
        # Memory stays bounded by the chats of the last second, not by every chat ever seen.
        # At a high rate most entries are that recent and survive a sweep, so the next
        # sweep waits until the table has doubled: its cost stays constant per message.
        if len(self._chat_next) > self._sweep_at:
            self._chat_next = {chat: t for chat, t in self._chat_next.items() if t > now}
            self._sweep_at = max(SWEEP_AT_LEAST, 2 * len(self._chat_next))
