"""The store: one engine, and the rooms that share it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import schema
from bot.store.engine import connect as connect_engine
from bot.store.ledger import DeliveryLedger
from bot.store.questions import UnansweredQuestions
from bot.store.subscriptions import Subscriptions
from bot.store.versions import Versions

NETWORK_TIME_LIMIT = 5.0
"""Seconds a call to a database over the network may take (see :attr:`Store.time_limit`)."""


class Store:
    """The bot's persistent state: :meth:`connect`, :meth:`migrate`, use, :meth:`close`.

    ``subscriptions``, ``versions`` and ``ledger`` (the sender's
    :class:`~bot.delivery.sender.Ledger`) are its rooms; each of their methods is one
    short transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap ``engine`` (see :meth:`connect`); its database must be migrated before use."""
        self.engine = engine
        self.subscriptions = Subscriptions(engine)
        self.versions = Versions(engine)
        self.ledger = DeliveryLedger(engine)
        self.time_limit: float | None = (
            None if engine.dialect.name == "sqlite" else NETWORK_TIME_LIMIT
        )
        """Seconds a call may take before the database counts as away; None: no limit.

        A database over a network can stop answering without refusing (a partition): calls
        then fail after this long instead of hanging. SQLite is a local file: a call that
        takes long is waiting for another writer (its busy timeout bounds that), and a
        limit here would only refuse subscribers during a burst."""
        self.unanswered = UnansweredQuestions(engine, self.time_limit)

    @classmethod
    def connect(cls, url: str) -> Store:
        """A store for ``url``, not yet migrated: call :meth:`migrate` before using it.

        Synchronous, so the composition root can build the store before an event loop runs;
        the engine connects on first use.
        """
        return cls(connect_engine(url))

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (see :mod:`bot.store.schema`)."""
        await schema.migrate(self.engine)

    async def schema_revisions(self) -> list[str] | None:
        """The database's Alembic revisions; None before its first migration."""
        return await schema.schema_revisions(self.engine)

    async def close(self) -> None:
        """Commit the counts still waiting, then close every pooled connection."""
        await self.unanswered.flush()
        await self.engine.dispose()
