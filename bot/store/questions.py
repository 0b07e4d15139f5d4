"""Questions nobody answered: what the bot replied "the article does not say" to, counted.

The editor's to-do list for the digest (``/unanswered``): each question by its folded text,
how many asked it and when last, and nothing about who asked. The table keeps the most
asked :data:`KEPT` questions; the rest are pruned as new ones arrive.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import transaction
from bot.store.records import Unanswered, columns
from bot.store.tables import UnansweredRow

logger = logging.getLogger(__name__)

KEPT = 500
"""Questions kept: the most asked, then the most recently asked."""
MAX_LENGTH = 300
"""A question is kept to this many characters (and keyed by them)."""
_PRUNE_SLACK = 50
"""Prune only once the table holds this many more than :data:`KEPT`: one DELETE per 50."""
_SPACES = re.compile(r"\s+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def question_key(text: str) -> str:
    """The same question however it is cased, spaced or punctuated at its ends."""
    folded = _EDGES.sub("", _SPACES.sub(" ", text).strip()).casefold()
    return folded[:MAX_LENGTH]


class UnansweredQuestions:
    """Count unanswered questions and list the most asked; each method one transaction.

    Counts are committed in groups: the askings that arrive while a commit runs wait,
    merged per question, and the next commit writes them all. One at a time this is a
    transaction per question; under load, when each transaction waits its turn for the
    database (SQLite's one writer, beside a broadcast), a transaction per question fell
    behind the questions and piled up a waiting task for each (the long-day benchmark).
    What waits is one entry per distinct question, at most :data:`KEPT`.
    """

    def __init__(self, engine: AsyncEngine, time_limit: float | None = None) -> None:
        self._engine = engine
        self._time_limit = time_limit
        # The askings not yet committed, by question key: to be added to the stored counts.
        self._pending: dict[str, Unanswered] = {}
        self._dropped = 0
        # The commit of the askings waiting, and that of the batch being written.
        self._committed: asyncio.Future[None] | None = None
        self._in_flight: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def record(self, text: str, now: datetime | None = None) -> None:
        """Count one more asking of ``text`` (kept as first asked; empty text is ignored).

        Returns once the count is committed; raises what the database raised if not.
        Cancelled (a caller's time limit), it stops waiting; the count may still be made.
        """
        committed = self._add(text, now)
        if committed is not None:
            # Shielded: the commit is shared, and one caller giving up must not cancel it.
            await asyncio.shield(committed)

    def record_later(self, text: str) -> None:
        """Count one more asking of ``text`` without waiting for the commit.

        A failed commit is logged (one line for all it held), not raised.
        """
        self._add(text, None)

    async def flush(self) -> None:
        """Wait until every count recorded so far is committed or has failed; not for the
        counts recorded meanwhile (a steady stream of questions must not hold the caller).
        The batches are committed in order, so the newest one's commit covers the others."""
        latest = self._committed or self._in_flight
        if latest is not None and not latest.done():
            await asyncio.wait((latest,))

    def _add(self, text: str, now: datetime | None) -> asyncio.Future[None] | None:
        key = question_key(text)
        if not key:
            return None
        now = now or datetime.now(UTC)
        pending = self._pending.get(key)
        if pending is not None:
            self._pending[key] = replace(
                pending, count=pending.count + 1, last_asked_at=max(pending.last_asked_at, now)
            )
        elif len(self._pending) < KEPT:
            self._pending[key] = Unanswered(_SPACES.sub(" ", text).strip()[:MAX_LENGTH], 1, now)
        else:
            # More distinct questions waiting than the table keeps (a database away for a
            # long while): the rest would be pruned anyway, and must not fill the memory.
            self._dropped += 1
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
        if self._writer is None or self._writer.done():
            # A task of its own, not a caller's: one caller's time limit must not cancel the
            # commit that holds the others' counts. It ends once nothing is waiting.
            self._writer = asyncio.create_task(self._write_all(), name="count-unanswered")
        return self._committed

    async def _write_all(self) -> None:
        while self._committed is not None:
            pending, committed = self._pending, self._committed
            dropped, self._dropped = self._dropped, 0
            self._pending, self._committed, self._in_flight = {}, None, committed
            try:
                async with asyncio.timeout(self._time_limit):
                    await self._count(pending)
            except BaseException as error:
                if not isinstance(error, Exception):  # cancelled: the loop is closing
                    committed.cancel()
                    raise
                logger.warning(
                    "%d unanswered question(s) were not counted: %s",
                    sum(asked.count for asked in pending.values()) + dropped,
                    type(error).__name__,
                )
                committed.set_exception(error)
                committed.exception()  # logged above: not "never retrieved" if nobody waits
            else:
                if dropped:
                    logger.warning(
                        "%d unanswered question(s) were not counted: too many waiting", dropped
                    )
                committed.set_result(None)

    async def _count(self, pending: dict[str, Unanswered]) -> None:
        """Add ``pending`` to the counts in one transaction, then prune if the table is full."""
        if not pending:
            return
        async with transaction(self._engine) as connection:
            dialect = connection.dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(UnansweredRow)
            # Each question added to whatever is stored, in one statement, so two replicas
            # counting the same question at once both count.
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[UnansweredRow.key],
                    set_={
                        "count": UnansweredRow.count + statement.excluded.count,
                        "last_asked_at": statement.excluded.last_asked_at,
                    },
                ),
                [
                    {
                        "key": key,
                        "text": asked.text,
                        "count": asked.count,
                        "last_asked_at": asked.last_asked_at,
                    }
                    for key, asked in pending.items()
                ],
            )
            held = (
                await connection.execute(select(func.count()).select_from(UnansweredRow))
            ).scalar_one()
            if held > KEPT + _PRUNE_SLACK:
                kept = (
                    select(UnansweredRow.key)
                    .order_by(UnansweredRow.count.desc(), UnansweredRow.last_asked_at.desc())
                    .limit(KEPT)
                )
                await connection.execute(
                    delete(UnansweredRow).where(UnansweredRow.key.not_in(kept.scalar_subquery()))
                )

    async def most_asked(self, limit: int = 20) -> list[Unanswered]:
        """The ``limit`` most asked, most recent first among equals, counting every asking
        recorded so far (an editor who just asked a question sees it listed)."""
        await self.flush()
        async with transaction(self._engine) as connection:
            rows = await connection.execute(
                select(*columns(Unanswered, UnansweredRow))
                .order_by(UnansweredRow.count.desc(), UnansweredRow.last_asked_at.desc())
                .limit(limit)
            )
            return [Unanswered(**row._asdict()) for row in rows]
