"""The send limiter, on a virtual clock: rates hold, per-chat spacing holds, pauses hold."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.delivery import SendLimiter
from bot.delivery.limiter import LATE_ALLOWANCE, SAFETY_MARGIN


class VirtualClock:
    """A clock that moves only when every task sleeps: exact times, instant tests.

    The earliest sleeper moves the clock to its wake-up time; the others wait their turn.
    """

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleepers: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        self.sleepers.append(target)
        try:
            while self.now < target:
                await asyncio.sleep(0)  # let every ready task run first
                if target == min(self.sleepers):
                    self.now = max(self.now, target)
        finally:
            self.sleepers.remove(target)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events in any half-open window of ``window`` seconds (float noise aside)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window + 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


async def acquire_all(limiter: SendLimiter, clock: VirtualClock, chats: list[int]) -> list[float]:
    times: list[float] = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(clock())
        limiter.sent(chat)  # answered at once
    return times


async def test_global_rate_is_never_exceeded() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(25, clock=clock, sleep=clock.sleep)
    times = await acquire_all(limiter, clock, list(range(500)))
    assert 24 <= max_in_window(times) <= 25  # the limit, less the safety margin
    assert times[-1] - times[0] == pytest.approx(499 / 25 * SAFETY_MARGIN)


async def test_one_message_per_second_per_chat() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(1000, clock=clock, sleep=clock.sleep)
    times = await acquire_all(limiter, clock, [7, 7, 7, 8])
    assert times[1] - times[0] == pytest.approx(SAFETY_MARGIN)
    assert times[2] - times[1] == pytest.approx(SAFETY_MARGIN)
    assert times[3] - times[2] == pytest.approx(SAFETY_MARGIN / 1000)


async def test_concurrent_callers_share_the_rate() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(10, clock=clock, sleep=clock.sleep)
    times: list[float] = []

    async def caller(chats: range) -> None:
        for chat in chats:
            await limiter.acquire(chat)
            times.append(clock())
            limiter.sent(chat)

    await asyncio.gather(*(caller(range(n * 100, n * 100 + 20)) for n in range(5)))
    assert len(times) == 100
    assert max_in_window(times) <= 10


async def test_per_chat_gap_counts_from_the_answer() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(1000, clock=clock, sleep=clock.sleep)
    await limiter.acquire(7)
    clock.now += 0.3  # the request took 300 ms
    limiter.sent(7)
    answered = clock()
    await limiter.acquire(7)
    assert clock() - answered == pytest.approx(SAFETY_MARGIN, abs=0.05)


async def test_late_wake_up_does_not_bunch_sends() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(10, clock=clock, sleep=clock.sleep)
    await limiter.acquire(1)
    clock.now += 0.5  # the event loop was busy for half a second
    await limiter.acquire(2)
    late = clock()
    await limiter.acquire(3)
    assert clock() - late == pytest.approx(0.1 * SAFETY_MARGIN)


async def test_pause_holds_everyone_including_reserved_slots() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(5, clock=clock, sleep=clock.sleep)
    await limiter.acquire(1)
    limiter.pause(3)
    assert limiter.paused_for == pytest.approx(3)
    start = clock()
    await limiter.acquire(2)
    assert clock() - start >= 3
    assert limiter.paused_for == 0


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SendLimiter(0)


async def test_stop_ends_a_wait_without_claiming_a_slot() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(1, clock=clock, sleep=clock.sleep)
    stop = asyncio.Event()
    assert await limiter.acquire(1, stop)  # the first slot is free
    waiting = asyncio.create_task(limiter.acquire(2, stop))  # the next one is a second away
    await asyncio.sleep(0)
    stop.set()
    assert not await waiting
    assert clock() - 1000.0 < SAFETY_MARGIN  # it gave up before its slot came
    # No slot was taken: without a stop, the next caller gets the one that was waited for.
    assert await limiter.acquire(3)
    assert clock() - 1000.0 == pytest.approx(SAFETY_MARGIN)


async def test_chats_are_forgotten_once_their_interval_has_passed() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(1000, clock=clock, sleep=clock.sleep)
    await acquire_all(limiter, clock, list(range(20_000)))  # 20 s of sending, 1000 a second
    # Only the last second or two of chats is remembered, not every chat ever seen...
    assert limiter.remembered_chats <= 4 * 1000
    # ...and a sweep is not repeated on every message while the recent ones fill the table.
    assert limiter.sweep_at >= 2 * 1000


async def test_a_reply_uses_up_a_slot_without_waiting_for_one() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(10, clock=clock, sleep=clock.sleep)
    interval = SAFETY_MARGIN / 10
    assert await limiter.acquire(1)
    limiter.take_unpaced()  # a reply, sent at once: the slot after the next is handed out
    assert clock() == 1000.0
    assert await limiter.acquire(2)
    assert clock() - 1000.0 == pytest.approx(2 * interval)
    # On an idle limiter, the next slot is an interval after the reply.
    await clock.sleep(5)
    replied = clock()
    limiter.take_unpaced()
    assert await limiter.acquire(3)
    assert clock() - replied == pytest.approx(interval)


async def test_replies_and_a_broadcast_together_keep_the_rate() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock, sleep=clock.sleep)
    times: list[float] = []

    async def broadcast() -> None:
        for chat in range(300):
            await limiter.acquire(chat)
            times.append(clock())
            limiter.sent(chat)

    async def replies() -> None:
        for _ in range(40):
            await clock.sleep(0.17)
            limiter.take_unpaced()
            times.append(clock())

    await asyncio.gather(broadcast(), replies())
    assert max_in_window(times) <= 30


@pytest.mark.parametrize("rate", [30, 1000])
async def test_stalls_within_the_allowance_keep_the_rate_and_every_window_under_it(
    rate: int,
) -> None:
    clock = VirtualClock()
    limiter = SendLimiter(rate, clock=clock, sleep=clock.sleep)
    stalls = random.Random(rate)
    times: list[float] = []
    for chat in range(rate * 5):
        if chat % max(3, rate // 10) == 0:  # ten stalls a second, at most
            # The event loop was busy (a commit, a garbage collection): this send is late
            # by up to the allowance, and those due meanwhile go as soon as it has gone.
            clock.now += stalls.uniform(0, LATE_ALLOWANCE)
        await limiter.acquire(chat)
        times.append(clock())
        limiter.sent(chat)
    assert max_in_window(times) <= rate
    # The schedule was kept: stalls within the allowance cost no rate.
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(rate / SAFETY_MARGIN, 0.01)
