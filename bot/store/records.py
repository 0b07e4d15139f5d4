"""What the store hands out: frozen dataclasses, never ORM objects.

Each record's fields are named as the columns it is read from, so a room selects
:func:`columns` of a record and builds it with ``Record(**row._asdict())``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Label
from sqlalchemy.orm import QueryableAttribute

from bot.store.tables import Base, BroadcastKind, VersionReason


@dataclass(frozen=True)
class Subscription:
    """A chat's subscription to digest updates."""

    chat_id: int
    chat_type: str
    title: str | None
    active: bool
    subscribed_at: datetime
    """When the chat last went from not subscribed to subscribed."""
    inactive_reason: str | None
    silent: bool = False
    """Updates go out without a sound (``/subscribe silent``)."""


@dataclass(frozen=True)
class Version:
    """One published digest."""

    id: int
    fingerprint: str
    digest_yaml: str
    article_text: str
    published_at: datetime
    published_by: int | None
    """The admin who published it; None for the file found at start."""
    reason: VersionReason
    replaces_version_id: int | None = None
    """The version current when this one was published: what /rollback goes back to."""


@dataclass(frozen=True)
class Announcement:
    """A broadcast's message: its parts, and the keyboard under the last one (Bot API JSON)."""

    parts: tuple[str, ...]
    keyboard: dict[str, Any] | None = None


@dataclass(frozen=True)
class Publication:
    """The version now current, and the broadcast announcing it (if any)."""

    version: Version
    broadcast_id: int | None
    recipients: int


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery: send broadcast ``broadcast_id`` to ``chat_id``."""

    id: int
    broadcast_id: int
    chat_id: int
    attempts: int
    """Attempts that ended before this one (for backoff)."""
    claimed_at: datetime
    """When this claim marked it 'sending': the claim's token (see
    :meth:`~bot.store.DeliveryLedger.release`)."""
    silent: bool
    """Send without a sound: the chat chose ``/subscribe silent``."""


@dataclass(frozen=True)
class BroadcastProgress:
    """A broadcast and how many of its deliveries are in each state."""

    broadcast_id: int
    kind: BroadcastKind
    version_id: int
    created_at: datetime
    recipients: int
    pending: int
    sending: int
    sent: int
    blocked: int
    failed: int
    cancelled: int = 0
    """Dropped because the chat unsubscribed (or moved) before it was sent."""


@dataclass(frozen=True)
class SubscriberCounts:
    """How many chats are subscribed, and how many were once and are no longer."""

    active: int
    inactive: int


@dataclass(frozen=True)
class Unanswered:
    """A question asked ``count`` times that the article did not answer."""

    text: str
    count: int
    last_asked_at: datetime


def columns(
    record: type[Any], table: type[Base], **renamed: ColumnElement[Any] | QueryableAttribute[Any]
) -> list[Label[Any]]:
    """The columns of ``table`` that fill ``record``, in field order, labelled as its fields.

    A field whose column has another name is given in ``renamed``:
    ``columns(Delivery, DeliveryRow, claimed_at=DeliveryRow.updated_at)``.
    """
    return [
        (renamed[field.name] if field.name in renamed else getattr(table, field.name)).label(
            field.name
        )
        for field in fields(record)
    ]
