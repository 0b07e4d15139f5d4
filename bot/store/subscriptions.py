"""Subscriptions: which chats receive the broadcasts.

A subscription is never deleted, only deactivated. A chat that goes inactive (unsubscribe,
mark_inactive, or a delivery the ledger records as blocked) has its open deliveries closed
in the same transaction, so nothing is sent to it again and no row of it stays due forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from bot.store.engine import transaction
from bot.store.records import SubscriberCounts, Subscription, columns
from bot.store.tables import OPEN_STATUSES, DeliveryRow, DeliveryStatus, SubscriptionRow


class Subscriptions:
    """Subscribe, unsubscribe and count chats; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def subscribe(
        self, chat_id: int, *, chat_type: str, title: str | None, silent: bool = False
    ) -> bool:
        """Subscribe ``chat_id`` (``silent``: updates without a sound; a subscribed chat
        switches); True if it was not active before (new or re-activated)."""
        try:
            return await self._subscribe(chat_id, chat_type, title, silent)
        except IntegrityError:
            # Another process inserted this chat between our UPDATEs and our INSERT: it
            # exists now, so the second try takes an UPDATE path.
            return await self._subscribe(chat_id, chat_type, title, silent)

    async def _subscribe(
        self, chat_id: int, chat_type: str, title: str | None, silent: bool
    ) -> bool:
        async with transaction(self._engine) as connection:
            now = datetime.now(UTC)
            subscribed = {
                "chat_type": chat_type,
                "title": title,
                "silent": silent,
                "active": True,
                "inactive_reason": None,
                "subscribed_at": now,
                "updated_at": now,
            }
            # Activate an existing row first: a no-op UPDATE tells us it did not exist.
            reactivated = await connection.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.chat_id == chat_id, SubscriptionRow.active.is_(False))
                .values(**subscribed)
            )
            if reactivated.rowcount:
                return True
            refreshed = await connection.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.chat_id == chat_id)
                .values(chat_type=chat_type, title=title, silent=silent, updated_at=now)
            )
            if refreshed.rowcount:
                return False
            await connection.execute(insert(SubscriptionRow).values(chat_id=chat_id, **subscribed))
            return True

    async def unsubscribe(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id``; True if it was active. Its open deliveries are cancelled."""
        async with transaction(self._engine) as connection:
            return await deactivate(connection, chat_id, "unsubscribed", closed_as="cancelled")

    async def mark_inactive(self, chat_id: int, reason: str) -> None:
        """Deactivate ``chat_id`` because Telegram refused it (e.g. "blocked", "kicked")."""
        async with transaction(self._engine) as connection:
            await deactivate(connection, chat_id, reason, closed_as="blocked")

    async def subscription(self, chat_id: int) -> Subscription | None:
        """The subscription of ``chat_id``, active or not; None if it never subscribed."""
        async with transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    select(*columns(Subscription, SubscriptionRow)).where(
                        SubscriptionRow.chat_id == chat_id
                    )
                )
            ).one_or_none()
        return None if row is None else Subscription(**row._asdict())

    async def subscriber_counts(self) -> SubscriberCounts:
        """Active and inactive subscriptions."""
        async with transaction(self._engine) as connection:
            rows = await connection.execute(
                select(SubscriptionRow.active, func.count()).group_by(SubscriptionRow.active)
            )
            counts = {bool(active): count for active, count in rows}
        return SubscriberCounts(active=counts.get(True, 0), inactive=counts.get(False, 0))

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscription and open deliveries follow it."""
        async with transaction(self._engine) as connection:
            await move_chat(connection, old_chat_id, new_chat_id)


async def deactivate(
    connection: AsyncConnection, chat_id: int, reason: str, *, closed_as: DeliveryStatus
) -> bool:
    """Deactivate an active subscription and close its open deliveries; True if it was active."""
    now = datetime.now(UTC)
    result = await connection.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.chat_id == chat_id, SubscriptionRow.active.is_(True))
        .values(active=False, inactive_reason=reason, updated_at=now)
    )
    if not result.rowcount:
        return False
    # Nothing more may go to this chat, and a row left pending would be due forever. Rows
    # already claimed ('sending') are closed too: the sender asks still_due_among() just
    # before it hands a claimed row out, so a row not yet handed out never goes out.
    await connection.execute(
        update(DeliveryRow)
        .where(DeliveryRow.chat_id == chat_id, DeliveryRow.status.in_(OPEN_STATUSES))
        .values(status=closed_as, error=reason, updated_at=now)
    )
    return True


async def move_chat(connection: AsyncConnection, old_chat_id: int, new_chat_id: int) -> None:
    """Carry ``old_chat_id``'s subscription and open deliveries over to ``new_chat_id``.

    The supergroup may be known already: it subscribed before the migration was seen (the
    update was lost, or the sender met the old id first). An active subscription of its
    own then stands, and where it already has a delivery of a broadcast, that row stays
    and the old chat's is cancelled: one message per chat, and (broadcast, chat) is unique.
    """
    old = (
        await connection.execute(
            select(*columns(Subscription, SubscriptionRow)).where(
                SubscriptionRow.chat_id == old_chat_id
            )
        )
    ).one_or_none()
    if old is None:
        return
    now = datetime.now(UTC)
    reason = f"migrated to {new_chat_id}"
    new_is_active = (
        await connection.execute(
            select(SubscriptionRow.active).where(SubscriptionRow.chat_id == new_chat_id)
        )
    ).scalar_one_or_none()
    carried = {
        "chat_type": "supergroup",
        "title": old.title,
        "active": old.active,
        "inactive_reason": old.inactive_reason,
        "subscribed_at": old.subscribed_at,
        "updated_at": now,
    }
    if new_is_active is None:
        await connection.execute(insert(SubscriptionRow).values(chat_id=new_chat_id, **carried))
    elif not new_is_active:
        await connection.execute(
            update(SubscriptionRow).where(SubscriptionRow.chat_id == new_chat_id).values(**carried)
        )
    open_rows = (DeliveryRow.chat_id == old_chat_id, DeliveryRow.status.in_(OPEN_STATUSES))
    twin = aliased(DeliveryRow)
    await connection.execute(
        update(DeliveryRow)
        .where(
            *open_rows,
            exists().where(
                twin.broadcast_id == DeliveryRow.broadcast_id, twin.chat_id == new_chat_id
            ),
        )
        .values(status="cancelled", error=reason, updated_at=now)
    )
    await connection.execute(
        update(DeliveryRow).where(*open_rows).values(chat_id=new_chat_id, updated_at=now)
    )
    await connection.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.chat_id == old_chat_id)
        .values(active=False, inactive_reason=reason, updated_at=now)
    )
