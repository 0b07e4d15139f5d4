"""Test databases: a fresh PostgreSQL one per test (when BOT_TEST_DATABASE_URL names a
server) or an SQLite file, and a store opened on one the way the bot opens its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.store import Store

PG_URL = os.environ.get("BOT_TEST_DATABASE_URL", "")
SKIP_REASON = "BOT_TEST_DATABASE_URL is not set"


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database on the test server; dropped afterwards."""
    if not PG_URL:
        pytest.skip(SKIP_REASON)
    server = make_url(PG_URL)
    name = f"story_brief_test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@asynccontextmanager
async def empty_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database: ``kind`` "sqlite" (a file in a directory yet to be
    made, under ``tmp_path``) or "postgresql" (see :func:`fresh_database`)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state' / 'store.db'}"
        return
    async with fresh_database() as url:
        yield url


async def open_store(url: str) -> Store:
    """A store on ``url``, migrated as the bot's start-up does (connect, then migrate)."""
    store = Store.connect(url)
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store
