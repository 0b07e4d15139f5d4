"""Digest versions: every published digest, and which one is current.

Versions are immutable and never deleted. ``bot_state`` holds the current version's id
(the pointer) and the fingerprint of the digest file last loaded from disk. Publishing adds
a version and moves the pointer to it; a rollback moves the pointer back to the version the
current one replaced. Either may announce itself with a broadcast, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.broadcasts import add_broadcast
from bot.store.engine import transaction
from bot.store.records import Announcement, Publication, Version, columns
from bot.store.tables import (
    CURRENT_VERSION_KEY,
    FILE_FINGERPRINT_KEY,
    BotStateRow,
    BroadcastKind,
    VersionReason,
    VersionRow,
)

_VERSION = columns(Version, VersionRow)


class Versions:
    """Publish, roll back and read the digest versions; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def current_version(self) -> Version | None:
        """The version being served; None before the first publish."""
        async with transaction(self._engine) as connection:
            current_id = await _current_id(connection)
            return None if current_id is None else await _load(connection, current_id)

    async def file_fingerprint(self) -> str | None:
        """The fingerprint of the digest file last loaded from disk."""
        async with transaction(self._engine) as connection:
            return await _state(connection, FILE_FINGERPRINT_KEY)

    async def remember_file(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the digest file last loaded, changing nothing else."""
        async with transaction(self._engine) as connection:
            await _set_state(connection, FILE_FINGERPRINT_KEY, fingerprint)

    async def publish(
        self,
        *,
        fingerprint: str,
        digest_yaml: str,
        article_text: str,
        published_by: int | None,
        reason: VersionReason,
        file_fingerprint: str | None,
        announcement: list[str] | None,
        combined: Mapping[int, Announcement | None] | None = None,
        keyboard: dict[str, Any] | None = None,
    ) -> Publication:
        """Store a new version and make it current; with ``announcement``, broadcast it.

        One transaction: the version, the pointer, the file fingerprint (when given), and the
        broadcast with a 'pending' delivery per active subscriber all commit, or none does.
        ``combined``: see :func:`bot.store.ledger.add_broadcast`.
        """
        async with transaction(self._engine) as connection:
            # Lock the pointer before taking an id, so concurrent publishers leave the newest
            # version current (their pointer updates happen in id order).
            replaced = await _current_id(connection, lock=True)
            now = datetime.now(UTC)
            row = (
                await connection.execute(
                    insert(VersionRow)
                    .values(
                        fingerprint=fingerprint,
                        digest_yaml=digest_yaml,
                        article_text=article_text,
                        published_at=now,
                        published_by=published_by,
                        reason=reason,
                        replaces_version_id=replaced,
                    )
                    .returning(*_VERSION)
                )
            ).one()
            version = Version(**row._asdict())
            if file_fingerprint is not None:
                await _set_state(connection, FILE_FINGERPRINT_KEY, file_fingerprint)
            return await _make_current(
                connection,
                version,
                replaced,
                "update",
                Announcement(tuple(announcement), keyboard) if announcement is not None else None,
                combined,
                published_by,
                now,
            )

    async def with_fingerprint(self, prefix: str) -> Version | None:
        """The newest version whose fingerprint starts with ``prefix``; None if none does."""
        if not prefix:
            return None
        async with transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    select(*_VERSION)
                    .where(VersionRow.fingerprint.startswith(prefix, autoescape=True))
                    .order_by(VersionRow.id.desc())
                    .limit(1)
                )
            ).one_or_none()
        return None if row is None else Version(**row._asdict())

    async def version(self, version_id: int) -> Version:
        """Stored version ``version_id``."""
        async with transaction(self._engine) as connection:
            return await _load(connection, version_id)

    async def rollback_target(self) -> tuple[Version, Version] | None:
        """The current version and the one a rollback restores; None if either is missing.

        The target is the version the current one replaced when it was published, not simply
        the next older id: after a rollback from v2 to v1 and a new v3, rolling back from v3
        must restore v1, not the retracted v2.
        """
        async with transaction(self._engine) as connection:
            current_id = await _current_id(connection)
            if current_id is None:
                return None
            current = await _load(connection, current_id)
            if current.replaces_version_id is None:
                return None
            return current, await _load(connection, current.replaces_version_id)

    async def rollback(
        self,
        current: Version,
        target: Version,
        *,
        published_by: int,
        announcement: list[str] | None,
        combined: Mapping[int, Announcement | None] | None = None,
        keyboard: dict[str, Any] | None = None,
    ) -> Publication | None:
        """Make ``target`` current again, if ``current`` still is; None if it no longer is.

        ``current`` and ``target`` are what :meth:`rollback_target` answered. The caller
        validates ``target`` and renders the announcement in between, outside any
        transaction; this one only commits if nobody published or rolled back meanwhile
        (compare-and-set on the pointer), and otherwise changes nothing.

        A pointer move, no new version: rolling back again goes one further back. With
        ``announcement``, its messages go to every active subscriber as a 'correction'.
        ``published_by`` is recorded as the broadcast's ``created_by``.
        """
        if current.replaces_version_id != target.id:
            raise ValueError(f"version {current.id} did not replace version {target.id}")
        async with transaction(self._engine) as connection:
            if await _current_id(connection, lock=True) != current.id:
                return None
            return await _make_current(
                connection,
                target,
                current.id,
                "correction",
                Announcement(tuple(announcement), keyboard) if announcement is not None else None,
                combined,
                published_by,
                datetime.now(UTC),
            )


async def _make_current(
    connection: AsyncConnection,
    version: Version,
    replaced: int | None,
    kind: BroadcastKind,
    announcement: Announcement | None,
    combined: Mapping[int, Announcement | None] | None,
    created_by: int | None,
    now: datetime,
) -> Publication:
    """Point at ``version`` instead of ``replaced``; with ``announcement`` (what changed
    since ``replaced``), broadcast it to the active subscribers."""
    await _set_state(connection, CURRENT_VERSION_KEY, str(version.id))
    if announcement is None:
        return Publication(version=version, broadcast_id=None, recipients=0)
    broadcast_id, recipients = await add_broadcast(
        connection,
        version_id=version.id,
        base_version_id=replaced,
        kind=kind,
        parts=list(announcement.parts),
        created_by=created_by,
        now=now,
        combined=combined,
        keyboard=announcement.keyboard,
    )
    return Publication(version=version, broadcast_id=broadcast_id, recipients=recipients)


async def _state(connection: AsyncConnection, key: str, *, lock: bool = False) -> str | None:
    query = select(BotStateRow.value).where(BotStateRow.key == key)
    if lock:
        query = query.with_for_update()
    return (await connection.execute(query)).scalar_one_or_none()


async def _set_state(connection: AsyncConnection, key: str, value: str) -> None:
    result = await connection.execute(
        update(BotStateRow).where(BotStateRow.key == key).values(value=value)
    )
    if not result.rowcount:  # the migration creates the rows; recreate one if it went missing
        await connection.execute(insert(BotStateRow).values(key=key, value=value))


async def _current_id(connection: AsyncConnection, *, lock: bool = False) -> int | None:
    value = await _state(connection, CURRENT_VERSION_KEY, lock=lock)
    return None if value is None else int(value)


async def _load(connection: AsyncConnection, version_id: int) -> Version:
    row = (await connection.execute(select(*_VERSION).where(VersionRow.id == version_id))).one()
    return Version(**row._asdict())
