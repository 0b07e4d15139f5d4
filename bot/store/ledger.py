"""The delivery ledger: one row per broadcast and chat, the sender's persistent to-do list.

Nothing here loads all deliveries: a broadcast's rows are written by one INSERT … SELECT
(:func:`add_broadcast`), claims take LIMIT rows, and progress is a COUNT … GROUP BY.

The delivery state machine
--------------------------
A broadcast is one row in ``broadcasts`` plus one ``deliveries`` row per chat that was an
active subscriber in the transaction that created it::

    pending ──claim_due──▶ sending ──mark_sent_many──▶ sent
       ▲                     │      ──mark_blocked────▶ blocked   (and the chat goes inactive)
       │                     │      ──mark_failed─────▶ failed
       └──retry_later────────┤
       └──release────────────┤      (claimed, never sent: the sender stopped)
       └──requeue_in_flight──┘      (at start: what a crash left in flight)

``sent``, ``blocked``, ``failed`` and ``cancelled`` are final: no method changes such a row
again. A chat that goes inactive has its open rows closed in the same transaction (see
:mod:`bot.store.subscriptions`).

Why "no subscriber skipped; a duplicate only for a message in flight at a crash" holds:

1. The version, the current pointer, the broadcast and every delivery row are committed in
   one transaction (:meth:`Versions.publish <bot.store.Versions.publish>`,
   :meth:`Versions.rollback <bot.store.Versions.rollback>`): either the new content is
   current and every active subscriber has a ``pending`` row, or nothing changed at all.
2. :meth:`DeliveryLedger.claim_due` commits the switch to ``sending`` before it returns, so
   the sender only ever calls Telegram for a row that is durably marked in flight.
3. The outcome (``mark_*``, ``retry_later``) is committed only after Telegram answered.

A crash before (2) commits leaves the row ``pending``: it is claimed again later, nothing was
sent. A crash after (3) commits leaves the outcome recorded: a final row is never sent again,
a retried one had not arrived. Only a crash between (2) and (3), while the message was in
flight, leaves ``sending``; :meth:`~DeliveryLedger.requeue_in_flight` at the next start turns
exactly those rows back to ``pending``, and they alone may reach their chat twice. On
PostgreSQL claims lock with ``FOR UPDATE SKIP LOCKED``, so concurrent senders never claim
one row twice; on SQLite every transaction starts with ``BEGIN IMMEDIATE``, which
serialises them outright.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import (
    Update,
    bindparam,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import subscriptions
from bot.store.engine import transaction
from bot.store.records import Announcement, BroadcastProgress, Delivery, columns
from bot.store.tables import (
    OPEN_STATUSES,
    BroadcastRow,
    DeliveryRow,
    DeliveryStatus,
    SubscriptionRow,
    aware,
)

_log = logging.getLogger(__name__)

# RETURNING cannot join: whether the chat is silent is read by a second query.
_CLAIMED = columns(Delivery, DeliveryRow, claimed_at=DeliveryRow.updated_at, silent=false())
_COUNTED: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)


class DeliveryLedger:
    """The deliveries, as the sender sees them (:class:`bot.delivery.sender.Ledger`).

    Every method is one short transaction; outcomes reported for a row that is already
    final, or unknown, change nothing.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_due(self, limit: int, now: datetime | None = None) -> list[Delivery]:
        """Switch the oldest ``limit`` due 'pending' deliveries to 'sending' and return them.

        Committed before returning, so a crash while sending leaves them marked in flight.
        """
        if limit <= 0:
            return []
        cutoff = datetime.now(UTC) if now is None else aware(now)
        due = (
            select(DeliveryRow.id)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= cutoff)
            .order_by(DeliveryRow.id)
            .limit(limit)
            # PostgreSQL: rows another sender holds are passed over, not waited for (SQLite
            # has no row locks and ignores this; its BEGIN IMMEDIATE serialises claims).
            .with_for_update(skip_locked=True)
        )
        async with transaction(self._engine) as connection:
            claimed = await connection.execute(
                update(DeliveryRow)
                # The status test again: under READ COMMITTED a row may have moved on since
                # the subquery's snapshot.
                .where(DeliveryRow.id.in_(due.scalar_subquery()), DeliveryRow.status == "pending")
                .values(status="sending", updated_at=datetime.now(UTC))
                .returning(*_CLAIMED)
            )
            deliveries = [Delivery(**row._asdict()) for row in claimed]
            if deliveries:
                silent = set(
                    (
                        await connection.execute(
                            select(SubscriptionRow.chat_id).where(
                                SubscriptionRow.chat_id.in_({d.chat_id for d in deliveries}),
                                SubscriptionRow.silent.is_(True),
                            )
                        )
                    ).scalars()
                )
                deliveries = [
                    replace(delivery, silent=True) if delivery.chat_id in silent else delivery
                    for delivery in deliveries
                ]
        # RETURNING promises no order; at most `limit` rows to sort.
        return sorted(deliveries, key=lambda delivery: delivery.id)

    async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]:
        """Those of ``delivery_ids`` that are claimed and should still go out, in one query."""
        if not delivery_ids:
            return set()
        async with transaction(self._engine) as connection:
            rows = await connection.execute(
                select(DeliveryRow.id).where(
                    DeliveryRow.id.in_(list(delivery_ids)), DeliveryRow.status == "sending"
                )
            )
            return set(rows.scalars())

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        """Record accepted messages, ``(delivery id, message id)`` each, in one commit (final).

        One transaction for many outcomes: at a thousand messages a second, a commit per
        message would be most of the sender's time (see :mod:`bot.delivery.sender`).
        """
        if not sent:
            return
        async with transaction(self._engine) as connection:
            await connection.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == bindparam("delivery_id"),
                    # Not IN (…): an expanding list cannot go into executemany().
                    or_(*(DeliveryRow.status == status for status in OPEN_STATUSES)),
                )
                .values(
                    status="sent",
                    message_id=bindparam("sent_message_id"),
                    error=None,
                    attempts=DeliveryRow.attempts + 1,
                    updated_at=datetime.now(UTC),
                ),
                [
                    {"delivery_id": delivery_id, "sent_message_id": message_id}
                    for delivery_id, message_id in sent
                ],
            )

    async def mark_blocked(self, delivery_id: int, error: str) -> None:
        """Record a refusal (403, chat gone) and deactivate the chat, in one transaction."""
        async with transaction(self._engine) as connection:
            chat_id = (
                await connection.execute(
                    _close(delivery_id, status="blocked", error=error).returning(
                        DeliveryRow.chat_id
                    )
                )
            ).scalar_one_or_none()
            if chat_id is not None:
                await subscriptions.deactivate(connection, chat_id, error, closed_as="blocked")

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Give the delivery up for good (final)."""
        async with transaction(self._engine) as connection:
            await connection.execute(_close(delivery_id, status="failed", error=error))

    async def retry_later(
        self, delivery_id: int, *, at: datetime, error: str, count_attempt: bool = True
    ) -> None:
        """Put the delivery back to 'pending', due at ``at``.

        ``count_attempt=False`` for waits that are not failures (429 ``retry_after``).
        """
        at = aware(at)
        async with transaction(self._engine) as connection:
            await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(OPEN_STATUSES))
                .values(
                    status="pending",
                    next_attempt_at=at,
                    error=error,
                    attempts=DeliveryRow.attempts + (1 if count_attempt else 0),
                    updated_at=datetime.now(UTC),
                )
            )

    async def release(self, claimed: Collection[tuple[int, datetime]]) -> None:
        """Claimed deliveries never sent, ``(id, claimed_at)`` each: back to 'pending'.

        Only rows still held by that very claim (same ``claimed_at``) go back: a sender
        that stops after losing its leadership must not take back rows that the new leader
        has put back and claimed again since.
        """
        claims: dict[datetime, list[int]] = {}
        for delivery_id, claimed_at in claimed:
            claims.setdefault(claimed_at, []).append(delivery_id)
        if not claims:
            return
        async with transaction(self._engine) as connection:
            for claimed_at, ids in claims.items():
                await connection.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id.in_(ids),
                        DeliveryRow.status == "sending",
                        DeliveryRow.updated_at == claimed_at,
                    )
                    .values(status="pending", updated_at=datetime.now(UTC))
                )

    async def requeue_in_flight(self) -> int:
        """At start: every 'sending' delivery back to 'pending'; how many there were.

        Only for a single sender (or when every sender restarts): a live sender's in-flight
        rows would be sent twice.
        """
        async with transaction(self._engine) as connection:
            result = await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.status == "sending")
                .values(status="pending", updated_at=datetime.now(UTC))
            )
            requeued = result.rowcount
        if requeued:
            _log.info("requeued %d deliveries left in flight", requeued)
        return requeued

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: see :func:`bot.store.subscriptions.move_chat`."""
        async with transaction(self._engine) as connection:
            await subscriptions.move_chat(connection, old_chat_id, new_chat_id)

    async def next_due_at(self) -> datetime | None:
        """The earliest due time among 'pending' deliveries; None when there are none."""
        async with transaction(self._engine) as connection:
            return (
                await connection.execute(
                    select(func.min(DeliveryRow.next_attempt_at)).where(
                        DeliveryRow.status == "pending"
                    )
                )
            ).scalar_one()

    async def broadcast_message(self, broadcast_id: int) -> Announcement:
        """The message of broadcast ``broadcast_id``; KeyError if there is none."""
        async with transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    select(BroadcastRow.parts, BroadcastRow.keyboard).where(
                        BroadcastRow.id == broadcast_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise KeyError(broadcast_id)
        return Announcement(tuple(row.parts), row.keyboard)

    async def pending_bases(self) -> set[int]:
        """The versions that unsent update messages compare from: a chat with one of these
        pending has not yet been told what changed since that version."""
        async with transaction(self._engine) as connection:
            rows = await connection.execute(
                select(BroadcastRow.base_version_id)
                .join(DeliveryRow, DeliveryRow.broadcast_id == BroadcastRow.id)
                .where(DeliveryRow.status == "pending", BroadcastRow.base_version_id.is_not(None))
                .distinct()
            )
            return {base for base in rows.scalars() if base is not None}

    async def latest_broadcast(self) -> BroadcastProgress | None:
        """The newest publication's broadcast and its deliveries by state; None before the
        first. A publication that also sent combined messages (see :func:`add_broadcast`)
        made several broadcasts at once: they are counted together, as one."""
        async with transaction(self._engine) as connection:
            newest: datetime | None = (
                await connection.execute(select(func.max(BroadcastRow.created_at)))
            ).scalar_one()
            if newest is None:
                return None
            together = BroadcastRow.created_at == newest
            broadcast = (
                await connection.execute(
                    select(
                        func.min(BroadcastRow.id).label("broadcast_id"),
                        func.min(BroadcastRow.kind).label("kind"),
                        func.max(BroadcastRow.version_id).label("version_id"),
                        func.max(BroadcastRow.created_at).label("created_at"),
                        func.sum(BroadcastRow.recipients).label("recipients"),
                    ).where(together)
                )
            ).one()
            rows = await connection.execute(
                select(DeliveryRow.status, func.count())
                .join(BroadcastRow, DeliveryRow.broadcast_id == BroadcastRow.id)
                .where(together)
                .group_by(DeliveryRow.status)
            )
            counts: dict[str, int] = dict(rows.all())
        tallies: dict[str, Any] = {status: counts.get(status, 0) for status in _COUNTED}
        fields = broadcast._asdict() | {
            "recipients": int(broadcast.recipients),
            "created_at": aware(broadcast.created_at),
        }
        return BroadcastProgress(**fields, **tallies)


def _close(delivery_id: int, *, status: DeliveryStatus, error: str) -> Update:
    """The UPDATE that ends an open delivery with a final ``status`` after one more attempt."""
    return (
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(OPEN_STATUSES))
        .values(
            status=status,
            error=error,
            attempts=DeliveryRow.attempts + 1,
            updated_at=datetime.now(UTC),
        )
    )
