"""The store's engine: the URL's async driver, and SQLite set up for one writer at a time.

On SQLite every transaction starts with ``BEGIN IMMEDIATE``, which serialises them
outright; on PostgreSQL the rooms lock what they must (``FOR UPDATE``, ``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import AdaptedConnection, DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
"""The async driver for a URL whose scheme names none (``postgresql://…`` as hosts give it):
without a driver, SQLAlchemy would pick a synchronous one."""

SQLITE_BUSY_SECONDS = 30
"""How long an SQLite call waits for the file's write lock, or for the one connection."""

_TURNS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
"""Each SQLite engine's queue for its one connection (see :func:`transaction`)."""

WAL_ATTEMPTS = 100
"""Tries at switching a new SQLite file to WAL while other connections open it (~5 s)."""


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver when it names none."""
    parsed = make_url(url)
    drivername = ASYNC_DRIVERS.get(parsed.drivername)
    return parsed if drivername is None else parsed.set(drivername=drivername)


def connect(url: str) -> AsyncEngine:
    """An engine for ``url``; nothing connects before its first use.

    An SQLite file's directory is made if missing; its connections use WAL and foreign
    keys, and each transaction takes the write lock up front (see :func:`_sqlite_on_begin`).
    """
    parsed = async_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        _make_parent_directory(parsed.database)
    engine = create_async_engine(
        parsed,
        # A busy timeout long enough to wait out another transaction (see _sqlite_on_begin).
        connect_args={"timeout": SQLITE_BUSY_SECONDS} if sqlite else {},
        pool_pre_ping=not sqlite,
        **_pool_sizes(parsed),
    )
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()``; on SQLite, callers take turns, first come first served.

    SQLite works through one connection (:func:`_pool_sizes`), so under load callers
    queue for it. In SQLAlchemy's pool that wait is limited to 30 s and then fails
    ("QueuePool limit ... reached"): beside a broadcast in the long-day benchmark, with
    each transaction taking 60-80 ms of event-loop turns, /status and the sender waited
    that long and failed. A wait for a local file's turn is not a database that is away
    (see ``Store.time_limit``), so here callers queue on an :class:`asyncio.Lock`
    instead, without a limit: measured, up to 21 s there, bounded by the updates the bot
    holds at once (``bot.chat.ordering.AdmissionQueue``) and the sender's few calls.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            yield connection
        return
    turn = _TURNS.setdefault(engine.sync_engine, asyncio.Lock())
    async with turn, engine.begin() as connection:
        yield connection


def _pool_sizes(url: URL) -> dict[str, Any]:
    """How many connections the engine keeps: one for an SQLite file, 40 + 10 for a server."""
    if url.get_backend_name() != "sqlite":
        # Updates are handled side by side (BOT_CONCURRENT_UPDATES): SQLAlchemy's default of
        # 5 + 10 connections made a slow database's queries wait for a connection more than
        # for the database (tests/e2e/test_overload.py: p99 5.2 s, against 0.94 s with 40 + 10).
        # Two replicas at 40 + 10 stay within PostgreSQL's default of 100 connections.
        return {"pool_size": 40, "max_overflow": 10}
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        return {}  # in memory: SQLAlchemy's StaticPool, one shared connection already
    # Every transaction takes the file's write lock first (_sqlite_on_begin), so only one
    # connection ever works at a time; more only wait for the lock in SQLite's busy handler,
    # which polls with sleeps of up to 100 ms. More connections buy nothing, and each costs
    # a thread (aiosqlite), that thread's malloc arena and up to 2 MB of SQLite page cache:
    # the default 5 + 10 made 17 threads in the long-day benchmark, one makes 3. Callers
    # queue for it in transaction(), not in the pool.
    return {"pool_size": 1, "max_overflow": 0, "pool_timeout": SQLITE_BUSY_SECONDS}


def _make_parent_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module (which would BEGIN only before
    # the first write, leaving earlier reads outside the transaction); _sqlite_on_begin issues
    # the BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers do not block the writer; foreign keys are off by default per connection.
        _use_wal(dbapi_connection, cursor)
        # In WAL mode NORMAL loses nothing when the process dies (only on a power cut or an
        # OS crash), and it spares an fsync per commit: one commit per delivery adds up.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _use_wal(dbapi_connection: DBAPIConnection, cursor: Any) -> None:
    # The journal mode is kept in the file: only the first connection to a new file switches
    # it. That switch rewrites the file's header, and SQLite does not wait out a busy file to
    # do it (the busy timeout does not apply): connections opening a new file at the same
    # moment get "database is locked". They wait a little, without blocking the event loop,
    # and look again.
    for attempt in range(WAL_ATTEMPTS):
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt + 1 == WAL_ATTEMPTS or not isinstance(dbapi_connection, AdaptedConnection):
                raise
        dbapi_connection.run_async(lambda _driver: asyncio.sleep(0.05))


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: transactions run one at a time (waiting up to
    # the busy timeout) instead of failing with "database is locked" when a reader turns
    # writer, and a read-then-write like a rollback's compare-and-set cannot interleave
    # with another.
    dbapi_connection: object = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, AdaptedConnection):
        # Straight to aiosqlite: one trip to its thread, where SQLAlchemy's cursor takes
        # three (open, execute, close). Each trip waits for the event loop's next turn, and
        # under load those turns are what an SQLite transaction's time is made of.
        dbapi_connection.run_async(lambda driver: driver.execute("BEGIN IMMEDIATE"))
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
