"""Updates that carry the news: silent subscriptions, combined updates, unanswered questions.

- ``subscriptions.silent``: the chat chose ``/subscribe silent`` (updates without a sound).
- ``broadcasts.base_version_id``: the version a broadcast's message compares from, so that a
  subscriber not yet sent one update can be sent one combined message instead of two;
  ``broadcasts.keyboard``: the buttons under its last part (an update cut to fit has one
  that lists every change).
- ``unanswered_questions``: questions answered "the article does not say", by their folded
  text, with how many asked them (no user id), for ``/unanswered``.

Written by hand and self-contained, like 0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("base_version_id", _ID, nullable=True))
        batch.add_column(sa.Column("keyboard", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            "fk_broadcasts_base_version_id_digest_versions",
            "digest_versions",
            ["base_version_id"],
            ["id"],
        )
    op.create_table(
        "unanswered_questions",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_unanswered_questions"),
    )
    op.create_index(
        "ix_unanswered_questions_count", "unanswered_questions", ["count", "last_asked_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_unanswered_questions_count", table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint("fk_broadcasts_base_version_id_digest_versions", type_="foreignkey")
        batch.drop_column("keyboard")
        batch.drop_column("base_version_id")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("silent")
