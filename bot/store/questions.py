"""Questions nobody answered: what the bot replied "the article does not say" to, counted.

The editor's to-do list for the digest (``/unanswered``): each question by its folded text,
how many asked it and when last, and nothing about who asked. The table keeps the most
asked :data:`KEPT` questions; the rest are pruned as new ones arrive.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.tables import UnansweredRow

KEPT = 500
"""Questions kept: the most asked, then the most recently asked."""
MAX_LENGTH = 300
"""A question is kept to this many characters (and keyed by them)."""
_PRUNE_SLACK = 50
"""Prune only once the table holds this many more than :data:`KEPT`: one DELETE per 50."""
_SPACES = re.compile(r"\s+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class _Asked:
    """One asking waiting to be counted: its key, its text as kept, and when."""

    key: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Unanswered:
    """A question asked ``count`` times that the article did not answer."""

    text: str
    count: int
    last_asked_at: datetime


def question_key(text: str) -> str:
    """The same question however it is cased, spaced or punctuated at its ends."""
    folded = _EDGES.sub("", _SPACES.sub(" ", text).strip()).casefold()
    return folded[:MAX_LENGTH]


class UnansweredQuestions:
    """Count unanswered questions and list the most asked; each method one transaction.

    Counts are committed in groups: whoever records a question while no commit runs writes
    it, with every question recorded meanwhile, until none is left; the others wait for
    the commit that holds theirs. One at a time this is a transaction per question; under
    load, when each transaction waits its turn for the database (SQLite's one writer), a
    transaction per question fell behind the questions and piled up waiting tasks (the
    long-day benchmark), where a group costs one transaction for all that arrived.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[tuple[_Asked, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, text: str, now: datetime | None = None) -> None:
        """Count one more asking of ``text`` (kept as first asked; empty text is ignored).

        Returns once the count is committed; raises what the database raised if not.
        Cancelled (a caller's time limit), it stops waiting; the count may still be made.
        """
        key = question_key(text)
        if not key:
            return
        asked = _Asked(key, _SPACES.sub(" ", text).strip()[:MAX_LENGTH], now or datetime.now(UTC))
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((asked, committed))
        if self._writer is None or self._writer.done():
            # A task of its own, not the caller's: one caller's time limit must not cancel
            # the commit that holds the others' counts. It ends once nothing is waiting.
            self._writer = asyncio.create_task(self._write_all(), name="count-unanswered-write")
        await committed

    async def _write_all(self) -> None:
        group: list[tuple[_Asked, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    await self._count([asked for asked, _ in group])
                except Exception as error:
                    for _, committed in group:
                        if not committed.done():  # its caller may have stopped waiting
                            committed.set_exception(error)
                else:
                    for _, committed in group:
                        if not committed.done():
                            committed.set_result(None)
                group = []
        except BaseException:
            # Cancelled (the loop is closing): nobody will write these, and their callers
            # must not wait for ever.
            for _, committed in group + self._waiting:
                committed.cancel()
            self._waiting = []
            raise

    async def _count(self, group: list[_Asked]) -> None:
        """Add ``group`` to the counts in one transaction, then prune if the table is full."""
        counted: dict[str, dict[str, Any]] = {}
        for asked in group:
            row = counted.setdefault(
                asked.key,
                {"key": asked.key, "text": asked.text, "count": 0, "last_asked_at": asked.at},
            )
            row["count"] += 1
            row["last_asked_at"] = max(row["last_asked_at"], asked.at)
        async with self._engine.begin() as connection:
            dialect = connection.dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(UnansweredRow)
            # One statement per question, adding to whatever is stored, so two replicas
            # counting the same question at once both count.
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[UnansweredRow.key],
                    set_={
                        "count": UnansweredRow.count + statement.excluded.count,
                        "last_asked_at": statement.excluded.last_asked_at,
                    },
                ),
                list(counted.values()),
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
        """The ``limit`` most asked, most recent first among equals."""
        async with self._engine.begin() as connection:
            rows = await connection.execute(
                select(UnansweredRow.text, UnansweredRow.count, UnansweredRow.last_asked_at)
                .order_by(UnansweredRow.count.desc(), UnansweredRow.last_asked_at.desc())
                .limit(limit)
            )
            return [Unanswered(**row._asdict()) for row in rows]
