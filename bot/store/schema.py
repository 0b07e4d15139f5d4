"""The schema's migrations: Alembic, imported only when the database is not at the head.

Importing Alembic is a good part of the bot's start-up, and a restart needs none of it:
:func:`migrate` first compares the database's ``alembic_version`` with :data:`SCHEMA_HEAD`,
and only a new, older or unknown schema goes through Alembic.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SCHEMA_HEAD = "0002"
"""The head revision of the scripts in ``migrations/versions``. A new migration must change
it too: a test compares it with Alembic's own ``ScriptDirectory``."""

# pg_advisory_xact_lock key serialising the schema upgrades of every process on one database
# (an arbitrary constant; it only has to differ from other advisory locks on that database).
_MIGRATION_LOCK_KEY = 0x3B0A_41D6_5E2C_7F19


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the migrations (no alembic.ini), e.g. for ``command.revision``."""
    _import_alembic()
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates '%': a path or URL containing one must escape it.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent, safe from several processes)."""
    if await schema_revisions(engine) == [SCHEMA_HEAD]:
        return
    _import_alembic()  # now, rather than under the locks below
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once: the second waits here until the first
            # committed its DDL, then finds the schema at head and does nothing. The
            # lock goes with the transaction, so a crash cannot leave it held.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(upgrade)


async def schema_revisions(engine: AsyncEngine) -> list[str] | None:
    """The database's Alembic revisions; None before its first migration."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revisions)


def upgrade(connection: Connection) -> None:
    """Run Alembic's upgrade to head on ``connection``, inside the caller's transaction."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _revisions(connection: Connection) -> list[str] | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _import_alembic() -> None:
    """Import Alembic with its loggers held at WARNING.

    Alembic logs at INFO while it is imported ("setup plugin …"), and by the time a
    migration runs the bot has configured logging: those lines would show at every start
    on a new database, and say nothing to whoever reads the log.
    """
    if "alembic.command" in sys.modules:
        return
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        importlib.import_module("alembic.command")
    finally:
        logger.setLevel(level)
