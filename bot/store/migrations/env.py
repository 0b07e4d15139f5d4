"""Alembic environment of the state store.

``Store.migrate`` hands in a synchronous connection (from ``AsyncConnection.run_sync``) through
``config.attributes["connection"]`` and owns its transaction and locks. Run by hand through
``bot.store.alembic_config(url)``, this module makes its own async engine from the URL instead,
or, in offline mode, writes the SQL out.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.tables import Base


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    # Inside a transaction the caller began, Alembic leaves committing to the caller.
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_own_engine(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


def _main() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
    elif url:
        asyncio.run(_migrate_own_engine(url))
    else:
        raise RuntimeError("no connection handed in and no sqlalchemy.url to connect to")


_main()
