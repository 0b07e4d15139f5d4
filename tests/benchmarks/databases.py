"""Databases for the benchmarks: an SQLite file, or a PostgreSQL database made and dropped here.

Subscribers are written straight with SQL (a million ``Subscriptions.subscribe`` calls would
take an hour): one chat subscribes through the store, so every column has the value and the
format the store itself writes, and ``INSERT … SELECT`` copies that row for the other chat ids.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.postgres import open_store

FIRST_CHAT = 10_000_001
"""The first subscriber's chat id; the others follow it (private chats: positive ids)."""

_SQLITE_SEED = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :more)
INSERT INTO subscriptions
    (chat_id, chat_type, title, active, subscribed_at, updated_at, inactive_reason)
SELECT :first + seq.n, t.chat_type, t.title, t.active, t.subscribed_at, t.updated_at,
       t.inactive_reason
FROM seq, subscriptions AS t WHERE t.chat_id = :first
"""
_POSTGRES_SEED = """
INSERT INTO subscriptions
    (chat_id, chat_type, title, active, subscribed_at, updated_at, inactive_reason)
SELECT :first + seq.n, t.chat_type, t.title, t.active, t.subscribed_at, t.updated_at,
       t.inactive_reason
FROM generate_series(1, :more) AS seq(n), subscriptions AS t WHERE t.chat_id = :first
"""


def async_url(url: str) -> URL:
    """``url`` with the asyncpg driver when it names none (``postgresql://…``)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


class Database:
    """A database the bot under test is given; :meth:`drop` when done."""

    engine_name = "sqlite"

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        return cls(f"sqlite+aiosqlite:///{path}")

    def subscribers(self, count: int) -> list[int]:
        """The chat ids :meth:`seed` subscribes."""
        return list(range(FIRST_CHAT, FIRST_CHAT + count))

    def seed(self, count: int) -> None:
        """Migrate the schema and subscribe ``count`` private chats from :data:`FIRST_CHAT`."""
        asyncio.run(self._seed(count))

    async def _seed(self, count: int) -> None:
        store = await open_store(self.url)
        try:
            if count:
                await store.subscriptions.subscribe(FIRST_CHAT, chat_type="private", title=None)
        finally:
            await store.close()
        if count <= 1:
            return
        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                seed = _POSTGRES_SEED if connection.dialect.name == "postgresql" else _SQLITE_SEED
                await connection.execute(text(seed), {"first": FIRST_CHAT, "more": count - 1})
                if connection.dialect.name == "postgresql":
                    await connection.execute(text("ANALYZE subscriptions"))
        finally:
            await engine.dispose()

    def drop(self) -> None:
        """Nothing to do for SQLite: its file goes with the work directory."""


class PostgresDatabase(Database):
    """A fresh database on the server of ``server_url``, dropped by :meth:`drop`."""

    engine_name = "postgresql"

    def __init__(self, server_url: str) -> None:
        self.server = async_url(server_url)
        self.name = f"story_brief_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        super().__init__(self.server.set(database=self.name).render_as_string(hide_password=False))

    async def _admin(self, statement: str) -> None:
        engine = create_async_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
