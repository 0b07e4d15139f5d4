"""The state store's tables as SQLAlchemy 2 declarative models.

The migrations (``0001_initial``, ``0002_news_updates``) create exactly this schema;
``tests/unit/store/test_store.py`` checks the two agree on every engine. The store runs Core
statements against these tables and hands out frozen dataclasses, never instances of these
classes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

VersionReason = Literal["start", "reload"]
BroadcastKind = Literal["update", "correction"]
DeliveryStatus = Literal["pending", "sending", "sent", "blocked", "failed", "cancelled"]
OPEN_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "sending")
"""A delivery in one of these states may still change; the others are final."""

# Keys of the bot_state rows; the migration creates both rows (value NULL), so the store only
# ever UPDATEs them and can lock the current pointer with SELECT … FOR UPDATE.
CURRENT_VERSION_KEY = "current_version_id"
FILE_FINGERPRINT_KEY = "file_fingerprint"

# Telegram chat ids need 64 bits; SQLite only auto-increments a column declared INTEGER.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


def aware(moment: datetime) -> datetime:
    """``moment`` itself; ValueError if it is naive (the store takes timezone-aware times)."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes timezone-aware ones")
    return moment


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC and returned aware on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps the wall-clock digits only, so they must already be UTC.
        return aware(value).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: the digits written above, in UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (Alembic needs them to alter)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class SubscriptionRow(Base):
    """A chat's subscription to digest updates; never deleted, only deactivated."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool]
    subscribed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    inactive_reason: Mapped[str | None] = mapped_column(Text)
    silent: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """Updates go out without a sound (``/subscribe silent``)."""


class VersionRow(Base):
    """One published digest, immutable; ids grow with publication order."""

    __tablename__ = "digest_versions"
    __table_args__ = (CheckConstraint("reason IN ('start', 'reload')", name="reason"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    digest_yaml: Mapped[str] = mapped_column(Text)
    article_text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[VersionReason] = mapped_column(String(16))
    replaces_version_id: Mapped[int | None] = mapped_column(ForeignKey("digest_versions.id"))
    """The version that was current when this one was published: what /rollback restores."""


class BotStateRow(Base):
    """A named value: the current version's id and the fingerprint of the file last loaded."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class BroadcastRow(Base):
    """A message (in parts) to every subscriber active when it was created."""

    __tablename__ = "broadcasts"
    __table_args__ = (CheckConstraint("kind IN ('update', 'correction')", name="kind"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("digest_versions.id"))
    kind: Mapped[BroadcastKind] = mapped_column(String(16))
    parts: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    recipients: Mapped[int] = mapped_column(Integer)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("digest_versions.id"))
    """The version the message compares from (what its recipients had been told last)."""
    keyboard: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The inline keyboard under the last part, as the Bot API's JSON; None: no buttons."""


class DeliveryRow(Base):
    """One broadcast to one chat: the persistent to-do list of the sender."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "chat_id"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled')",
            name="status",
        ),
        # Claims scan the pending rows in id order and stop after LIMIT due ones; the same
        # prefix serves "earliest pending due time" and the restart's requeue of 'sending'.
        Index("ix_deliveries_status_id", "status", "id"),
        # Deactivating a chat cancels its pending deliveries without a table scan.
        Index("ix_deliveries_chat_id", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.chat_id"))
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UnansweredRow(Base):
    """A question the bot answered "the article does not say", and how many asked it.

    Keyed by the folded text, so "What about Taiwan?" and "what about taiwan" are one; no
    user id is kept.
    """

    __tablename__ = "unanswered_questions"
    __table_args__ = (Index("ix_unanswered_questions_count", "count", "last_asked_at"),)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    last_asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
