"""What keeps the sender going while its database is away (see :mod:`bot.delivery.sender`).

When the database goes away while the process lives (a restart of the server, a cut or
partitioned network, a read-only or full disk), the drain stops at the first write that
fails, and what it could not write is kept in memory (:class:`Unsettled`): the rows sent,
with their message ids, and the rows claimed but not sent. The sender tries the database
again every ``SenderPolicy.outage_poll`` seconds; once it answers, those writes are made
first (a message that reached its chat is recorded as sent, not sent again) and the
broadcast resumes where it stopped. :class:`Bounded` gives every ledger call a time limit,
so that a database that stops answering without refusing counts as away too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from bot.delivery.ports import Claimed, Ledger

logger = logging.getLogger("bot.delivery.sender")  # its lines are the sender's


class Bounded:
    """The ledger, each call failing with ``TimeoutError`` after ``timeout`` seconds.

    Every :class:`~bot.delivery.ports.Ledger` method is a coroutine that is bounded the same
    way, so one wrapper serves them all: a method added to the ledger is bounded too.
    """

    def __init__(self, ledger: Ledger, timeout: float | None) -> None:
        self._ledger = ledger
        self._timeout = timeout

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        call: Callable[..., Coroutine[Any, Any, Any]] = getattr(self._ledger, name)

        @functools.wraps(call)
        async def bounded(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(self._timeout):
                return await call(*args, **kwargs)

        return bounded


class Unrecorded(Exception):
    """A delivery's outcome could not be written: ``message_id`` if it reached its chat."""

    def __init__(self, message_id: int | None, error: Exception) -> None:
        super().__init__(f"outcome not recorded: {error}")
        self.message_id = message_id
        self.error = error


class Unsettled:
    """What the store failed to record, kept to write once it answers again.

    ``sent``: rows whose message reached its chat (delivery id to message id), recorded as
    sent rather than sent again. ``unsent``: rows claimed and not delivered (delivery id to
    the claim's time), released to be sent, by whichever sender leads by then; the claim's
    time makes the release touch only rows that claim still holds.
    """

    def __init__(self) -> None:
        self.sent: dict[int, int] = {}
        self.unsent: dict[int, datetime] = {}
        self._failing_since: float | None = None

    def failed(self, error: Exception, retry: float) -> None:
        """Log the first failure of an outage in full, and the retries that follow quietly:
        a database away for a minute is one error in the log, not sixty."""
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            logger.error(
                "delivery loop failed; retrying every %g s until the database answers "
                "(%d sent, %d claimed kept to record then): %s",
                retry,
                len(self.sent),
                len(self.unsent),
                describe(error),
                exc_info=error,
            )
        else:
            logger.debug("delivery loop failed again: %s", describe(error))

    def answered(self) -> None:
        """The database answered: say so once, if it had failed."""
        if self._failing_since is not None:
            logger.warning(
                "the database answers again after %.1f s: deliveries resume",
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None

    def keep(self, delivery: Claimed, message_id: int | None) -> None:
        if message_id:
            self.sent[delivery.id] = message_id
        else:
            self.unsent[delivery.id] = delivery.claimed_at

    async def settle(self, ledger: Ledger) -> bool:
        """Write what is kept (True if there was any); raise, keeping what is not written
        yet, if the store fails."""
        kept = bool(self.sent or self.unsent)
        if self.sent:
            await ledger.mark_sent_many(list(self.sent.items()))
            logger.info("recorded %d deliveries sent while the database was away", len(self.sent))
            self.sent = {}
        if self.unsent:
            await ledger.release(list(self.unsent.items()))
            self.unsent = {}
        return kept


def describe(error: BaseException) -> str:
    """The error's class and first line: the driver's whole message can run to a page."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
