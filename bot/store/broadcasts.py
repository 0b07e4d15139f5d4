"""Broadcasts: what a publication sends, written with its version in one transaction.

A broadcast is one row of ``broadcasts`` and one 'pending' delivery per chat that is an
active subscriber in that transaction (an INSERT … SELECT: subscribers are never loaded).
When earlier updates are still unsent to some chats, those chats get one combined message
instead of one per publication (:func:`add_broadcast`). The deliveries' life after that is
:mod:`bot.store.ledger`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Integer,
    String,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.records import Announcement
from bot.store.tables import (
    BroadcastKind,
    BroadcastRow,
    DeliveryRow,
    SubscriptionRow,
    UTCDateTime,
)


async def add_broadcast(
    connection: AsyncConnection,
    *,
    version_id: int,
    base_version_id: int | None,
    kind: BroadcastKind,
    parts: list[str],
    created_by: int | None,
    now: datetime,
    combined: Mapping[int, Announcement | None] | None = None,
    keyboard: dict[str, Any] | None = None,
) -> tuple[int, int]:
    """Insert a broadcast and a 'pending' delivery per active subscriber.

    ``parts`` (and ``keyboard``, under the last) say what changed from ``base_version_id`` to
    ``version_id``. ``combined`` holds, for each base of broadcasts still 'pending' for some
    chats, the message from
    that base to ``version_id`` (None: nothing a reader sees changed since): those chats
    get that one message, in a broadcast of its own, instead of both the unsent one and
    this one, and their unsent rows are cancelled as superseded. Rows the sender has
    claimed already stay as they are, and their chats get this broadcast: a message the
    ledger has handed out is never taken back (it may be in flight).

    Returns the first broadcast's id and the number of chats that will be sent anything.
    Run inside the transaction that makes the version current, so all commit or none does.
    """
    if not parts:
        raise ValueError("an announcement needs at least one message")
    combined = dict(combined or {})
    superseded = (
        select(DeliveryRow.chat_id)
        .join(BroadcastRow, DeliveryRow.broadcast_id == BroadcastRow.id)
        .where(DeliveryRow.status == "pending", BroadcastRow.base_version_id.in_(list(combined)))
    )
    publishing = _Publishing(
        version_id=version_id, kind=kind, created_by=created_by, created_at=now
    )
    broadcast_id, recipients = await _broadcast(
        connection,
        publishing,
        base_version_id,
        Announcement(tuple(parts), keyboard),
        # Everyone but the chats that get a combined message instead.
        SubscriptionRow.chat_id.not_in(superseded) if combined else None,
    )
    for base, combined_parts in combined.items():
        of_base = (
            select(DeliveryRow.chat_id)
            .join(BroadcastRow, DeliveryRow.broadcast_id == BroadcastRow.id)
            .where(DeliveryRow.status == "pending", BroadcastRow.base_version_id == base)
        )
        replacement: int | None = None
        if combined_parts is not None and combined_parts.parts:
            replacement, count = await _broadcast(
                connection, publishing, base, combined_parts, SubscriptionRow.chat_id.in_(of_base)
            )
            recipients += count
        unsent = select(BroadcastRow.id).where(
            BroadcastRow.base_version_id == base, BroadcastRow.id != (replacement or -1)
        )
        reason = (
            f"superseded by broadcast {replacement}"
            if replacement is not None
            else f"nothing left to tell: version {version_id} reads as version {base} did"
        )
        await connection.execute(
            update(DeliveryRow)
            .where(DeliveryRow.status == "pending", DeliveryRow.broadcast_id.in_(unsent))
            .values(status="cancelled", error=reason, updated_at=now)
        )
    return broadcast_id, recipients


@dataclass(frozen=True)
class _Publishing:
    """The columns every broadcast of one publication shares (its own and the combined ones);
    each adds its base version and its message."""

    version_id: int
    kind: BroadcastKind
    created_by: int | None
    created_at: datetime


async def _broadcast(
    connection: AsyncConnection,
    publishing: _Publishing,
    base_version_id: int | None,
    message: Announcement,
    chats: ColumnElement[bool] | None,
) -> tuple[int, int]:
    """One broadcast row and a 'pending' delivery per active subscriber among ``chats``."""
    broadcast_id = (
        await connection.execute(
            insert(BroadcastRow)
            .values(
                **asdict(publishing),
                base_version_id=base_version_id,
                parts=list(message.parts),
                keyboard=message.keyboard,
                recipients=0,
            )
            .returning(BroadcastRow.id)
        )
    ).scalar_one()
    enqueue = enqueue_subscribers(broadcast_id, publishing.created_at, chats)
    recipients = (await connection.execute(enqueue)).rowcount
    await connection.execute(
        update(BroadcastRow).where(BroadcastRow.id == broadcast_id).values(recipients=recipients)
    )
    return broadcast_id, recipients


def enqueue_subscribers(
    broadcast_id: int, now: datetime, chats: ColumnElement[bool] | None = None
) -> Insert:
    """One 'pending' delivery of ``broadcast_id`` per active subscriber (among ``chats``),
    all in the database."""
    due = literal(now, UTCDateTime())
    rows = select(
        literal(broadcast_id, BigInteger()),
        SubscriptionRow.chat_id,
        literal("pending", String()),
        literal(0, Integer()),
        due,
        due,
    ).where(SubscriptionRow.active.is_(True))
    if chats is not None:
        rows = rows.where(chats)
    return insert(DeliveryRow).from_select(
        ["broadcast_id", "chat_id", "status", "attempts", "next_attempt_at", "updated_at"], rows
    )
