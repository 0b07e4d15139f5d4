"""The floor for a broadcast: bare python-telegram-bot sending one message to each chat.

No store, no ledger, no outcomes, no per-chat pacing: a fixed text to a range of chat ids,
paced by a planned schedule with the same 3% margin and late allowance as Story Brief's
limiter (so that it stays under Telegram's limits too), with ``ceil(rate / 4)`` sends in
flight. Whatever Story Brief's broadcast costs beyond this is ours; what this one cannot
reach is python-telegram-bot's, httpx's and this machine's.

Its sends are spread over several ``Bot`` objects, each with a small ``HTTPXRequest``
pool: one pool of 256 connections (PTB's default) spends milliseconds of CPU per request
looking through its connections, and would make the floor a quarter of what it can be.

Run as a script with ``BOT_TOKEN``, ``BOT_API_BASE_URL``, ``BASELINE_RATE``,
``BASELINE_FIRST_CHAT``, ``BASELINE_CHATS`` and ``BASELINE_TEXT`` set::

    python tests/benchmarks/baseline_broadcast.py

Once its bots are initialised it creates the file ``BASELINE_READY`` and waits for the
file ``BASELINE_GO``, so that the harness times the broadcast alone; at the end it prints
the CPU seconds the broadcast took (``cpu <seconds>``).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from pathlib import Path

from telegram import Bot
from telegram.request import HTTPXRequest

MARGIN = 1.03  # bot.delivery.limiter.SAFETY_MARGIN (a bare PTB script imports nothing of ours)
LATE_ALLOWANCE = 0.010
IN_FLIGHT_TIME = 0.25
PER_POOL = 8


async def broadcast() -> None:
    """Send ``BASELINE_TEXT`` to every chat, ``BASELINE_RATE`` a second at most."""
    rate = float(os.environ["BASELINE_RATE"])
    first = int(os.environ["BASELINE_FIRST_CHAT"])
    chats = iter(range(first, first + int(os.environ["BASELINE_CHATS"])))
    text = os.environ["BASELINE_TEXT"]
    paid = rate > 30
    in_flight = max(8, math.ceil(rate * IN_FLIGHT_TIME))
    bots = [
        Bot(
            os.environ["BOT_TOKEN"],
            base_url=os.environ["BOT_API_BASE_URL"],
            request=HTTPXRequest(connection_pool_size=PER_POOL),
        )
        for _ in range(math.ceil(in_flight / PER_POOL))
    ]
    for bot in bots:
        await bot.initialize()
    # Blocking file calls are fine here: nothing else runs in this loop until "go".
    Path(os.environ["BASELINE_READY"]).touch()  # noqa: ASYNC240
    go = Path(os.environ["BASELINE_GO"])
    while not go.exists():  # noqa: ASYNC240
        await asyncio.sleep(0.01)
    began = time.process_time()

    turn = asyncio.Lock()
    interval = MARGIN / rate
    next_slot = time.monotonic()

    async def sender(bot: Bot) -> None:
        nonlocal next_slot
        for chat_id in chats:
            async with turn:
                wait = next_slot - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = time.monotonic()
                next_slot = (next_slot if now - next_slot <= LATE_ALLOWANCE else now) + interval
            await bot.send_message(
                chat_id, text, parse_mode="HTML", allow_paid_broadcast=True if paid else None
            )

    await asyncio.gather(*(sender(bots[index % len(bots)]) for index in range(in_flight)))
    print(f"cpu {time.process_time() - began:.6f}", flush=True)
    for bot in bots:
        await bot.shutdown()


if __name__ == "__main__":
    asyncio.run(broadcast())
