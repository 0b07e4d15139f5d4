"""Questions nobody answered: what the bot replied "the article does not say" to, counted.

The editor's to-do list for the digest (``/unanswered``): each question by its folded text,
how many asked it and when last, and nothing about who asked. The table keeps the most
asked :data:`KEPT` questions; the rest are pruned as new ones arrive.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.records import Unanswered, columns
from bot.store.tables import UnansweredRow

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
    """Count unanswered questions and list the most asked; each method one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, text: str, now: datetime | None = None) -> None:
        """Count one more asking of ``text`` (kept as first asked; empty text is ignored)."""
        key = question_key(text)
        if not key:
            return
        now = now or datetime.now(UTC)
        shown = _SPACES.sub(" ", text).strip()[:MAX_LENGTH]
        values = {"key": key, "text": shown, "count": 1, "last_asked_at": now}
        async with self._engine.begin() as connection:
            dialect = connection.dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(UnansweredRow).values(**values)
            # One statement, so two replicas counting the same question at once both count.
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[UnansweredRow.key],
                    set_={"count": UnansweredRow.count + 1, "last_asked_at": now},
                )
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
                select(*columns(Unanswered, UnansweredRow))
                .order_by(UnansweredRow.count.desc(), UnansweredRow.last_asked_at.desc())
                .limit(limit)
            )
            return [Unanswered(**row._asdict()) for row in rows]
