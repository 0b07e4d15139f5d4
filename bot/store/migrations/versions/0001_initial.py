"""Initial schema: subscriptions, digest versions, bot state, broadcasts and deliveries.

Written by hand and self-contained (it does not import ``bot.store.tables``, which will move
on while this revision must keep creating the schema it created the day it shipped).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

# SQLite only auto-increments a column declared INTEGER; elsewhere ids get 64 bits.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_type", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("inactive_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name="pk_subscriptions"),
    )
    op.create_table(
        "digest_versions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("digest_yaml", sa.Text(), nullable=False),
        sa.Column("article_text", sa.Text(), nullable=False),
        sa.Column("published_at", _timestamp(), nullable=False),
        sa.Column("published_by", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("replaces_version_id", _ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digest_versions"),
        sa.CheckConstraint("reason IN ('start', 'reload')", name="ck_digest_versions_reason"),
        sa.ForeignKeyConstraint(
            ["replaces_version_id"],
            ["digest_versions.id"],
            name="fk_digest_versions_replaces_version_id_digest_versions",
        ),
    )
    bot_state = op.create_table(
        "bot_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_bot_state"),
    )
    # The rows exist from the start so that the store can lock the pointer FOR UPDATE.
    op.bulk_insert(
        bot_state,
        [
            {"key": "current_version_id", "value": None},
            {"key": "file_fingerprint", "value": None},
        ],
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["digest_versions.id"],
            name="fk_broadcasts_version_id_digest_versions",
        ),
        sa.CheckConstraint("kind IN ('update', 'correction')", name="ck_broadcasts_kind"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("broadcast_id", _ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name="fk_deliveries_broadcast_id_broadcasts"
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["subscriptions.chat_id"], name="fk_deliveries_chat_id_subscriptions"
        ),
        sa.UniqueConstraint("broadcast_id", "chat_id", name="uq_deliveries_broadcast_id_chat_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled')",
            name="ck_deliveries_status",
        ),
    )
    # "Pending and due, oldest first": an equality on status, then ids in order.
    op.create_index("ix_deliveries_status_id", "deliveries", ["status", "id"])
    op.create_index("ix_deliveries_chat_id", "deliveries", ["chat_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_chat_id", table_name="deliveries")
    op.drop_index("ix_deliveries_status_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("broadcasts")
    op.drop_table("bot_state")
    op.drop_table("digest_versions")
    op.drop_table("subscriptions")
