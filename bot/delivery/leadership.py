"""Which process drains the delivery ledger: exactly one leader per database (Telegram-free).

Any number of bot processes may share one PostgreSQL database; all of them answer updates,
but only the one that holds the leader lock runs the :class:`~bot.delivery.DeliverySender`.

How the leader is chosen
------------------------
* **SQLite** is one process by design: :class:`Leadership` leads at once, always.
* **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(LEADER_LOCK_KEY)``,
  taken on a connection of its own (its own engine, ``NullPool``: the connection is never
  parked in a pool with the lock held, and closing it really closes it). The process leads
  for as long as that connection lives. A process without the lock tries again every
  ``retry_interval`` (2 s); the leader runs ``SELECT 1`` on its lock connection every
  ``check_interval`` (2 s) and, if that fails or hangs, stops leading at once (it calls
  ``stop_leading()``, i.e. ``sender.stop()``, and waits for the sender to return).

Why exactly one sends, and why the rate holds across replicas
-------------------------------------------------------------
PostgreSQL grants a session advisory lock to one session at a time, and only the session
holding it runs the sender, so the global send rate set by the leader's
:class:`~bot.delivery.SendLimiter` is the rate of the whole deployment: the other replicas
send no broadcast messages at all. The leader's ``lead()`` starts with
``requeue_in_flight()`` (see :meth:`DeliverySender.run`), which puts back the rows the
previous leader left ``sending``. That is only safe when no other sender is alive, and the
lock is what guarantees it: the new leader got the lock, so the old one's session is gone.

Failover time
-------------
PostgreSQL releases a session lock when the session ends. When the leader exits or is
killed (``kill -9`` included), the kernel closes its socket, the server ends the session at
once, and a waiting replica takes the lock at its next try: within ``retry_interval``
(2 s) plus a connection set-up, and sends after ``takeover_pause`` (1 s) more. A leader that is alive but cut off or frozen (network
partition, SIGSTOP, an event loop stalled) keeps its socket open, so the lock session also
sets ``idle_session_timeout`` (``session_timeout``, 6 s; PostgreSQL 14+): the leader's own
checks keep it busy every 2 s, and a session silent for 6 s is ended by the server. Such a
failover takes at most ``session_timeout + retry_interval`` plus a connection set-up: about
8 s. Both stay under the 10 s the deployment promises (tests/unit/delivery/test_leadership.py prints the
times it sees).

A frozen leader that wakes up after losing the lock may still finish the sends it had
under way before its next check (at most ``check_interval`` later): those few messages can
reach their chats twice, and for that moment two senders share the rate. A process that is
killed or exits cleanly never overlaps with its successor.

The lock session must be a real PostgreSQL session: a pooler in transaction mode
(PgBouncer ``pool_mode=transaction``) in between would break session advisory locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store.engine import async_url

__all__ = ["LEADER_LOCK_KEY", "Leadership"]

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x5B1E_F0A7_22D4_6C83
"""The advisory lock key of the delivery leader (an arbitrary bigint; the store's migration
lock uses another one). Advisory locks are per database, so each database has its leader."""

RETRY_INTERVAL = 2.0
CHECK_INTERVAL = 2.0
SESSION_TIMEOUT = 6.0
STOP_TIMEOUT = 10.0
"""Seconds the sender gets to return after stop_leading(); then it is cancelled."""
TAKEOVER_PAUSE = 1.0
"""Seconds a PostgreSQL leader waits after taking the lock, before it sends: the previous
leader's sends of its last second still count in Telegram's per-second window, and this
process's limiter never saw them. One window later none of them can."""


class _Lock(Protocol):
    async def acquire(self) -> bool: ...
    async def check(self) -> bool: ...
    async def release(self) -> None: ...
    async def close(self) -> None: ...


class _AlwaysHeld:
    """SQLite: one process by design, so it always leads."""

    async def acquire(self) -> bool:
        return True

    async def check(self) -> bool:
        return True

    async def release(self) -> None:
        return None

    async def close(self) -> None:
        return None


class _AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own."""

    def __init__(self, url: URL, key: int, *, timeout: float, session_timeout: float) -> None:
        # NullPool: a connection is opened for us and closed when we close it, never pooled.
        self._engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self._key = key
        self._timeout = timeout
        self._session_timeout = session_timeout
        self._connection: AsyncConnection | None = None
        self._held = False
        self._unreachable = False

    async def acquire(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connect()
                result = await connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                )
                self._held = bool(result.scalar_one())
        except Exception as error:
            # The server is down or the connection broke: start afresh at the next try. If
            # the lock was granted before the error, closing the session releases it. Said
            # once per outage: a database away for a minute is not thirty warnings.
            if self._unreachable:
                logger.debug("cannot try the delivery leader lock: %s", _describe(error))
            else:
                logger.warning(
                    "cannot try the delivery leader lock (trying again until the database "
                    "answers): %s",
                    _describe(error),
                )
            self._unreachable = True
            await self._discard()
            return False
        if self._unreachable:
            logger.info("the database answers again: the delivery leader lock can be tried")
            self._unreachable = False
        return self._held

    async def check(self) -> bool:
        connection = self._connection
        if connection is None or not self._held:
            return False
        try:
            async with asyncio.timeout(self._timeout):
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            logger.warning("the delivery leader lock's connection failed: %s", _describe(error))
            await self._discard()
            return False
        return True

    async def release(self) -> None:
        if self._connection is None or not self._held:
            return
        self._held = False
        try:
            async with asyncio.timeout(self._timeout):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
        except Exception as error:
            # Closing the session releases the lock just as well.
            logger.warning("cannot release the delivery leader lock: %s", _describe(error))
            await self._discard()

    async def close(self) -> None:
        await self._discard(graceful=True)
        await self._engine.dispose()

    async def _connect(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        connection = await self._engine.connect()
        self._connection = connection
        # Autocommit: the session never sits idle in a transaction (holding back vacuum, or
        # killed by idle_in_transaction_session_timeout); the lock is session-level anyway.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        if self._session_timeout > 0:
            try:
                # A leader that freezes or is cut off stops answering; the server then ends
                # its session (and the lock) instead of waiting for TCP to notice.
                await connection.execute(
                    text("SELECT set_config('idle_session_timeout', :value, false)"),
                    {"value": f"{round(self._session_timeout * 1000)}ms"},
                )
            except Exception as error:  # PostgreSQL before 14 has no such setting
                logger.info("no idle_session_timeout on the leader lock session: %s", error)
        return connection

    async def _discard(self, *, graceful: bool = False) -> None:
        """Close the lock connection (releasing the lock server-side if it was held)."""
        connection, self._connection, self._held = self._connection, None, False
        if connection is None:
            return
        if graceful:
            try:
                async with asyncio.timeout(self._timeout):
                    await connection.close()
            except Exception as error:
                logger.info("closing the leader lock connection failed: %s", error)
            else:
                return
        # A broken or hung connection: drop the socket at once, without a goodbye.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()


def _describe(error: BaseException) -> str:
    """The error's class and first line: SQLAlchemy adds the statement and a link below."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


_Outcome = Literal["over", "lost", "failed"]


class Leadership:
    """Runs ``lead()`` while this process is the one leader of its database.

    ``await leadership.run(sender.run, sender.stop)`` in a background task: it waits for the
    lock, runs ``lead()`` while it holds it, calls ``stop_leading()`` (and waits for
    ``lead()`` to return) when it loses it, and tries again. :meth:`stop` ends it cleanly;
    cancelling it ends it too (``lead()`` is then cancelled). Either way the lock is
    released and its connection closed when :meth:`run` returns.

    ``lead`` is called afresh at each new term of leadership: it must return a new awaitable
    each time, one that can start again after an earlier ``stop_leading()``.
    """

    def __init__(
        self,
        url: str,
        *,
        key: int = LEADER_LOCK_KEY,
        retry_interval: float = RETRY_INTERVAL,
        check_interval: float = CHECK_INTERVAL,
        session_timeout: float = SESSION_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
        takeover_pause: float = TAKEOVER_PAUSE,
    ) -> None:
        """Lead for the database at ``url`` (the store's URL); nothing connects before run()."""
        parsed = async_url(url)
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.stop_timeout = stop_timeout
        self._lock: _Lock
        if parsed.get_backend_name() == "sqlite":
            self._lock = _AlwaysHeld()
            self.takeover_pause = 0.0  # one process: nobody sent before it
        else:
            self.takeover_pause = takeover_pause
            self._lock = _AdvisoryLock(
                parsed,
                key,
                timeout=max(check_interval, retry_interval, 5.0),
                session_timeout=session_timeout,
            )
        self._is_leader = False
        self._stopping = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        """True while this process holds the lock and runs ``lead()`` (for health, metrics)."""
        return self._is_leader

    def stop(self) -> None:
        """Make :meth:`run` return: if leading, after ``stop_leading()`` and ``lead()`` ends."""
        self._stopping.set()

    async def run(
        self, lead: Callable[[], Awaitable[None]], stop_leading: Callable[[], None]
    ) -> None:
        """Lead whenever this process may, until :meth:`stop` or cancellation.

        If ``lead()`` returns on its own (someone stopped it directly), leadership ends and
        run() returns; if it raises, the error is logged, the lock released, and this
        process competes for it again after ``retry_interval``.
        """
        try:
            while not self._stopping.is_set():
                if not await self._lock.acquire():
                    await self._pause(self.retry_interval)
                    continue
                logger.info("leading: this process drains the delivery ledger")
                try:
                    if self.takeover_pause:
                        self._is_leader = True  # it holds the lock: health says so at once
                        await self._pause(self.takeover_pause)
                        if self._stopping.is_set():
                            return
                    outcome = await self._lead(lead, stop_leading)
                finally:
                    self._is_leader = False
                    await self._lock.release()
                if outcome == "over":
                    return
                if outcome == "failed":
                    await self._pause(self.retry_interval)
                # "lost": the lock is free now; try for it again at once.
        finally:
            self._is_leader = False
            await self._lock.close()

    async def _lead(
        self, lead: Callable[[], Awaitable[None]], stop_leading: Callable[[], None]
    ) -> _Outcome:
        """Run one term; "over" (stopped, or lead() returned), "lost" or "failed"."""
        self._is_leader = True
        task = asyncio.ensure_future(lead())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while True:
                await asyncio.wait(
                    {task, stopping},
                    timeout=self.check_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if task.done():
                    if task.cancelled() or task.exception() is None:
                        logger.info("the delivery sender returned: no longer leading")
                        return "over"
                    logger.error("the delivery sender failed", exc_info=task.exception())
                    return "failed"
                if self._stopping.is_set():
                    logger.info("stopping: no longer leading")
                    await self._end(task, stop_leading)
                    return "over"
                if not await self._lock.check():
                    logger.warning("lost the delivery leader lock: stopping the sender")
                    self._is_leader = False
                    await self._end(task, stop_leading)
                    return "lost"
        finally:
            stopping.cancel()
            task.cancel()  # a no-op unless run() itself is being cancelled
            await asyncio.gather(task, stopping, return_exceptions=True)

    async def _end(self, task: asyncio.Future[None], stop_leading: Callable[[], None]) -> None:
        """Ask ``lead()`` to return and wait for it (cancel it if it overruns stop_timeout)."""
        try:
            stop_leading()
        except Exception:
            logger.exception("stop_leading() failed")
        done, _ = await asyncio.wait({task}, timeout=self.stop_timeout)
        if not done:
            logger.warning(
                "the delivery sender did not stop in %.0f s: cancelled", self.stop_timeout
            )
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if not task.cancelled() and task.exception() is not None:
            logger.error("the delivery sender failed while stopping", exc_info=task.exception())

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if stop() comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
