"""The persistent state store: subscriptions, digest versions and the delivery ledger.

Telegram-free, and the same SQL on SQLite (one process) and PostgreSQL (several processes).
Every method is one short transaction and returns frozen dataclasses, never ORM objects.
Nothing here loads all subscribers or all deliveries: counts are COUNT/GROUP BY, a broadcast's
deliveries are written by one INSERT … SELECT, and claims take LIMIT rows.

The delivery state machine
--------------------------
A broadcast is one row in ``broadcasts`` plus one ``deliveries`` row per chat that was an
active subscriber in the transaction that created it::

    pending ──claim_due──▶ sending ──mark_sent──────▶ sent
       ▲                     │      ──mark_blocked───▶ blocked   (and the chat goes inactive)
       │                     │      ──mark_failed────▶ failed
       └──retry_later────────┤
       └──release────────────┤      (claimed, never sent: the sender stopped)
       └──requeue_in_flight──┘      (at start: what a crash left in flight)

``sent``, ``blocked`` and ``failed`` are final: no method changes such a row again. A chat
that goes inactive (unsubscribe, mark_inactive, mark_blocked) has its ``pending`` rows closed
in the same transaction (``blocked``, or ``failed`` with error "unsubscribed"), so nothing
is ever sent to it again and no undeliverable row stays due forever.

Why "no subscriber skipped; a duplicate only for a message in flight at a crash" holds:

1. The version, the current pointer, the broadcast and every delivery row are committed in
   one transaction (:meth:`Store.publish`, :meth:`Store.rollback`): either the new content is
   current and every active subscriber has a ``pending`` row, or nothing changed at all.
2. :meth:`Store.claim_due` commits the switch to ``sending`` before it returns, so the
   sender only ever calls Telegram for a row that is durably marked in flight.
3. The outcome (``mark_*``, ``retry_later``) is committed only after Telegram answered.

A crash before (2) commits leaves the row ``pending``: it is claimed again later, nothing was
sent. A crash after (3) commits leaves the outcome recorded: a final row is never sent again,
a retried one had not arrived. Only a crash between (2) and (3), while the message was in
flight, leaves ``sending``; :meth:`requeue_in_flight` at the next start turns exactly those
rows back to ``pending``, and they alone may reach their chat twice. On PostgreSQL claims lock with ``FOR UPDATE SKIP LOCKED``, so concurrent
senders never claim one row twice; on SQLite every transaction starts with
``BEGIN IMMEDIATE``, which serialises them outright.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import logging
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Insert,
    Integer,
    String,
    bindparam,
    event,
    func,
    insert,
    inspect,
    literal,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import AdaptedConnection, DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store.tables import (
    CURRENT_VERSION_KEY,
    FILE_FINGERPRINT_KEY,
    BotStateRow,
    BroadcastKind,
    BroadcastRow,
    DeliveryRow,
    SubscriptionRow,
    UTCDateTime,
    VersionReason,
    VersionRow,
)

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "BroadcastKind",
    "BroadcastProgress",
    "Delivery",
    "Publication",
    "Store",
    "SubscriberCounts",
    "Subscription",
    "Version",
    "VersionReason",
    "alembic_config",
]

_log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# pg_advisory_xact_lock key serialising the schema upgrades of every process on one database
# (an arbitrary constant; it only has to differ from other advisory locks on that database).
_MIGRATION_LOCK_KEY = 0x3B0A_41D6_5E2C_7F19

# A row in one of these states may still change; the others are final.
_OPEN = ("pending", "sending")


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


@dataclass(frozen=True)
class SubscriberCounts:
    """How many chats are subscribed, and how many were once and are no longer."""

    active: int
    inactive: int


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
    """When this claim marked it 'sending': the claim's token (see :meth:`Store.release`)."""


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
    """Dropped because the chat unsubscribed before it was sent."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the store's migrations (no alembic.ini), e.g. for ``command.revision``."""
    _import_alembic()
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates '%': a path or URL containing one must escape it.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _import_alembic() -> None:
    """Import Alembic, which the store only needs to migrate (see :func:`head_revision`).

    Alembic logs at INFO while it is imported ("setup plugin …"). It used to be imported
    with this module, before the bot configured logging, so those lines never showed;
    imported now, they would, so its loggers are held at WARNING meanwhile.
    """
    if "alembic.command" in sys.modules:
        return
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        importlib.import_module("alembic.command")
    finally:
        logger.setLevel(level)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes timezone-aware ones")
    return moment


_VERSION_COLUMNS = (
    VersionRow.id,
    VersionRow.fingerprint,
    VersionRow.digest_yaml,
    VersionRow.article_text,
    VersionRow.published_at,
    VersionRow.published_by,
    VersionRow.reason,
    VersionRow.replaces_version_id,
)


def _version(row: Any) -> Version:
    return Version(
        id=row.id,
        fingerprint=row.fingerprint,
        digest_yaml=row.digest_yaml,
        article_text=row.article_text,
        published_at=row.published_at,
        published_by=row.published_by,
        reason=row.reason,
        replaces_version_id=row.replaces_version_id,
    )


def _enqueue_statement(broadcast_id: int, now: datetime) -> Insert:
    """One 'pending' delivery of ``broadcast_id`` per active subscriber, all in the database."""
    due = literal(now, UTCDateTime())
    rows = select(
        literal(broadcast_id, BigInteger()),
        SubscriptionRow.chat_id,
        literal("pending", String()),
        literal(0, Integer()),
        due,
        due,
    ).where(SubscriptionRow.active.is_(True))
    return insert(DeliveryRow).from_select(
        ["broadcast_id", "chat_id", "status", "attempts", "next_attempt_at", "updated_at"], rows
    )


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module (which would BEGIN only before
    # the first write, leaving earlier reads outside the transaction); _sqlite_on_begin issues
    # the BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers do not block the writer; foreign keys are off by default per connection.
        _use_wal(dbapi_connection, cursor)
        # In WAL mode NORMAL loses nothing when the process dies (only on a power cut or an
        # OS crash), and it spares an fsync per commit: one commit per delivery adds up.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


WAL_ATTEMPTS = 100
"""Tries at switching a new SQLite file to WAL while other connections open it (~5 s)."""


def _use_wal(dbapi_connection: DBAPIConnection, cursor: Any) -> None:
    # The journal mode is kept in the file: only the first connection to a new file switches
    # it. That switch rewrites the file's header, and SQLite does not wait out a busy file to
    # do it (the busy timeout does not apply): connections opening a new file at the same
    # moment get "database is locked". They wait a little, without blocking the event loop,
    # and look again.
    for attempt in range(WAL_ATTEMPTS):
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt + 1 == WAL_ATTEMPTS or not isinstance(dbapi_connection, AdaptedConnection):
                raise
        dbapi_connection.run_async(lambda _driver: asyncio.sleep(0.05))


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: transactions run one at a time (waiting up to
    # the busy timeout) instead of failing with "database is locked" when a reader turns
    # writer, and a read-then-write like rollback() cannot interleave with another.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# The URL's scheme without a driver names a synchronous one; the store needs the async one.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def _async_driver(url: URL) -> URL:
    """``url`` with the async driver when it names none (``postgresql://…`` as hosts give it)."""
    drivername = _ASYNC_DRIVERS.get(url.drivername)
    return url if drivername is None else url.set(drivername=drivername)


def _make_parent_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


# A revision script's own ``revision = "…"`` or ``down_revision = …`` line (at module level).
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)[ \t]*(?::[^=\n]*)?=[ \t]*(.*?)[ \t]*(?:#.*)?$", re.MULTILINE
)


def head_revision() -> str | None:
    """The head revision of the migration scripts, read from their text without Alembic.

    Importing Alembic is a good part of the bot's start-up, and a restart needs none of it:
    :meth:`Store.migrate` compares this with the database's ``alembic_version`` first.
    None when the scripts do not tell it plainly (each one's ``revision`` and
    ``down_revision`` assigned a literal once, on one line; exactly one head): Alembic
    decides then. A test checks this against Alembic's own ``ScriptDirectory``.
    """
    replaces: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):  # files Alembic skips as well
            continue
        found = _REVISION_LINE.findall(path.read_text(encoding="utf-8"))
        names = [name for name, _ in found]
        if sorted(names) != ["down_revision", "revision"]:
            return None
        try:
            values = {name: ast.literal_eval(value) for name, value in found}
        except (SyntaxError, ValueError):
            return None
        revision, down = values["revision"], values["down_revision"]
        if down is None:
            down = ()
        elif isinstance(down, str):
            down = (down,)
        if (
            not isinstance(revision, str)
            or revision in replaces
            or not isinstance(down, tuple | list)
            or not all(isinstance(item, str) for item in down)
        ):
            return None
        replaces[revision] = tuple(down)
    replaced = {down for downs in replaces.values() for down in downs}
    heads = [revision for revision in replaces if revision not in replaced]
    return heads[0] if len(heads) == 1 else None


def _schema_revisions(connection: Connection) -> list[str] | None:
    """The revisions in ``alembic_version``; None when there is no such table (a new database)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Store:
    """The bot's persistent state; open with :meth:`open`, then :meth:`close` it."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine whose database is migrated; use :meth:`open` instead."""
        self._engine = engine

    @classmethod
    def connect(cls, url: str) -> Store:
        """A store for ``url``, not yet migrated: call :meth:`migrate` before using it.

        Synchronous, so the composition root can build the store before an event loop runs;
        the engine connects on first use.
        """
        parsed = _async_driver(make_url(url))
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite:
            _make_parent_directory(parsed.database)
        engine = create_async_engine(
            parsed,
            # A busy timeout long enough to wait out another transaction (see _sqlite_on_begin).
            connect_args={"timeout": 30} if sqlite else {},
            pool_pre_ping=not sqlite,
        )
        if sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return cls(engine)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to ``url`` and migrate its schema to the newest revision."""
        store = cls.connect(url)
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent, safe from several processes).

        A schema already at :func:`head_revision` is left as it is without importing Alembic;
        any other (a new database, an older or unknown revision) goes through Alembic.
        """
        head = head_revision()
        if head is not None and await self.schema_revisions() == [head]:
            return
        _import_alembic()  # now, rather than under the locks below
        async with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes starting at once: the second waits here until the first
                # committed its DDL, then finds the schema at head and does nothing. The
                # lock goes with the transaction, so a crash cannot leave it held.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_upgrade)

    async def schema_revisions(self) -> list[str] | None:
        """The database's Alembic revisions; None before its first migration."""
        async with self._engine.connect() as connection:
            return await connection.run_sync(_schema_revisions)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.begin() as connection:
            yield connection

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(self, chat_id: int, *, chat_type: str, title: str | None) -> bool:
        """Subscribe ``chat_id``; True if it was not active before (new or re-activated)."""
        try:
            return await self._subscribe(chat_id, chat_type, title)
        except IntegrityError:
            # Another process inserted this chat between our UPDATEs and our INSERT: it
            # exists now, so the second try takes an UPDATE path.
            return await self._subscribe(chat_id, chat_type, title)

    async def _subscribe(self, chat_id: int, chat_type: str, title: str | None) -> bool:
        async with self._transaction() as connection:
            now = _now()
            # Activate an existing row first: a no-op UPDATE tells us it did not exist.
            reactivated = await connection.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.chat_id == chat_id, SubscriptionRow.active.is_(False))
                .values(
                    chat_type=chat_type,
                    title=title,
                    active=True,
                    inactive_reason=None,
                    subscribed_at=now,
                    updated_at=now,
                )
            )
            if reactivated.rowcount:
                return True
            refreshed = await connection.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.chat_id == chat_id)
                .values(chat_type=chat_type, title=title, updated_at=now)
            )
            if refreshed.rowcount:
                return False
            await connection.execute(
                insert(SubscriptionRow).values(
                    chat_id=chat_id,
                    chat_type=chat_type,
                    title=title,
                    active=True,
                    subscribed_at=now,
                    updated_at=now,
                    inactive_reason=None,
                )
            )
            return True

    async def unsubscribe(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id``; True if it was active. Its pending deliveries are dropped."""
        async with self._transaction() as connection:
            return await _deactivate(connection, chat_id, "unsubscribed", closed_as="cancelled")

    async def subscription(self, chat_id: int) -> Subscription | None:
        """The subscription of ``chat_id``, active or not; None if it never subscribed."""
        async with self._transaction() as connection:
            row = (
                await connection.execute(
                    select(
                        SubscriptionRow.chat_id,
                        SubscriptionRow.chat_type,
                        SubscriptionRow.title,
                        SubscriptionRow.active,
                        SubscriptionRow.subscribed_at,
                        SubscriptionRow.inactive_reason,
                    ).where(SubscriptionRow.chat_id == chat_id)
                )
            ).one_or_none()
        if row is None:
            return None
        return Subscription(
            chat_id=row.chat_id,
            chat_type=row.chat_type,
            title=row.title,
            active=row.active,
            subscribed_at=row.subscribed_at,
            inactive_reason=row.inactive_reason,
        )

    async def mark_inactive(self, chat_id: int, reason: str) -> None:
        """Deactivate ``chat_id`` because Telegram refused it (e.g. "blocked", "kicked")."""
        async with self._transaction() as connection:
            await _deactivate(connection, chat_id, reason, closed_as="blocked")

    async def subscriber_counts(self) -> SubscriberCounts:
        """Active and inactive subscriptions."""
        async with self._transaction() as connection:
            rows = await connection.execute(
                select(SubscriptionRow.active, func.count()).group_by(SubscriptionRow.active)
            )
            counts = {bool(active): count for active, count in rows}
        return SubscriberCounts(active=counts.get(True, 0), inactive=counts.get(False, 0))

    # -- digest versions -----------------------------------------------------------------

    async def current_version(self) -> Version | None:
        """The version being served; None before the first publish."""
        async with self._transaction() as connection:
            current_id = await _current_id(connection)
            return None if current_id is None else await _load_version(connection, current_id)

    async def previous_version(self) -> Version | None:
        """The newest version older than the current one: what :meth:`rollback` restores."""
        async with self._transaction() as connection:
            current_id = await _current_id(connection)
            return None if current_id is None else await _version_before(connection, current_id)

    async def file_fingerprint(self) -> str | None:
        """The fingerprint of the digest file last loaded from disk."""
        async with self._transaction() as connection:
            return await _state(connection, FILE_FINGERPRINT_KEY)

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
    ) -> Publication:
        """Store a new version and make it current; with ``announcement``, broadcast it.

        One transaction: the version, the pointer, the file fingerprint (when given), and the
        broadcast with a 'pending' delivery per active subscriber all commit, or none does.
        """
        if announcement is not None and not announcement:
            raise ValueError("an announcement needs at least one message")
        async with self._transaction() as connection:
            # Lock the pointer before taking an id, so concurrent publishers leave the newest
            # version current (their pointer updates happen in id order).
            replaced = await _current_id(connection, lock=True)
            now = _now()
            version_id = (
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
                    .returning(VersionRow.id)
                )
            ).scalar_one()
            await _set_state(connection, CURRENT_VERSION_KEY, str(version_id))
            if file_fingerprint is not None:
                await _set_state(connection, FILE_FINGERPRINT_KEY, file_fingerprint)
            broadcast_id, recipients = None, 0
            if announcement is not None:
                broadcast_id, recipients = await _broadcast(
                    connection, version_id, "update", announcement, published_by, now
                )
        version = Version(
            id=version_id,
            fingerprint=fingerprint,
            digest_yaml=digest_yaml,
            article_text=article_text,
            published_at=now,
            published_by=published_by,
            reason=reason,
            replaces_version_id=replaced,
        )
        return Publication(version=version, broadcast_id=broadcast_id, recipients=recipients)

    async def rollback(
        self,
        *,
        published_by: int,
        announcement_for: Callable[[Version, Version], list[str]] | None,
    ) -> Publication | None:
        """Make the previous version current again; None if there is none.

        A pointer move, no new version: rolling back again goes one further back. With
        ``announcement_for``, its ``(from_version, to_version)`` messages go to every active
        subscriber as a 'correction', in the same transaction. ``published_by`` is recorded
        as the broadcast's ``created_by``.
        """
        async with self._transaction() as connection:
            current_id = await _current_id(connection, lock=True)
            if current_id is None:
                return None
            target = await _version_before(connection, current_id)
            if target is None:
                return None
            await _set_state(connection, CURRENT_VERSION_KEY, str(target.id))
            broadcast_id, recipients = None, 0
            if announcement_for is not None:
                origin = await _load_version(connection, current_id)
                parts = announcement_for(origin, target)
                if not parts:
                    raise ValueError("an announcement needs at least one message")
                broadcast_id, recipients = await _broadcast(
                    connection, target.id, "correction", parts, published_by, _now()
                )
        return Publication(version=target, broadcast_id=broadcast_id, recipients=recipients)

    async def remember_file(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the digest file last loaded, changing nothing else."""
        async with self._transaction() as connection:
            await _set_state(connection, FILE_FINGERPRINT_KEY, fingerprint)

    # -- the delivery ledger -------------------------------------------------------------

    async def claim_due(self, limit: int, now: datetime | None = None) -> list[Delivery]:
        """Switch the oldest ``limit`` due 'pending' deliveries to 'sending' and return them.

        Committed before returning, so a crash while sending leaves them marked in flight.
        """
        if limit <= 0:
            return []
        cutoff = _now() if now is None else _aware(now)
        due = (
            select(DeliveryRow.id)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= cutoff)
            .order_by(DeliveryRow.id)
            .limit(limit)
            # PostgreSQL: rows another sender holds are passed over, not waited for (SQLite
            # has no row locks and ignores this; its BEGIN IMMEDIATE serialises claims).
            .with_for_update(skip_locked=True)
        )
        async with self._transaction() as connection:
            claimed = await connection.execute(
                update(DeliveryRow)
                # The status test again: under READ COMMITTED a row may have moved on since
                # the subquery's snapshot.
                .where(DeliveryRow.id.in_(due.scalar_subquery()), DeliveryRow.status == "pending")
                .values(status="sending", updated_at=_now())
                .returning(
                    DeliveryRow.id,
                    DeliveryRow.broadcast_id,
                    DeliveryRow.chat_id,
                    DeliveryRow.attempts,
                    DeliveryRow.updated_at,
                )
            )
            deliveries = [
                Delivery(
                    id=row.id,
                    broadcast_id=row.broadcast_id,
                    chat_id=row.chat_id,
                    attempts=row.attempts,
                    claimed_at=row.updated_at,
                )
                for row in claimed
            ]
        # RETURNING promises no order; at most `limit` rows to sort.
        return sorted(deliveries, key=lambda delivery: delivery.id)

    async def mark_sent(self, delivery_id: int, message_id: int) -> None:
        """Record that Telegram accepted the message (final)."""
        await self.mark_sent_many([(delivery_id, message_id)])

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None:
        """Record several accepted messages, ``(delivery id, message id)`` each, in one commit.

        One transaction for many outcomes: at a thousand messages a second, a commit per
        message would be most of the sender's time (see :mod:`bot.delivery.sender`).
        """
        if not sent:
            return
        now = _now()
        async with self._transaction() as connection:
            await connection.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == bindparam("delivery_id"),
                    # Not IN (…): an expanding list cannot go into executemany().
                    or_(*(DeliveryRow.status == status for status in _OPEN)),
                )
                .values(
                    status="sent",
                    message_id=bindparam("sent_message_id"),
                    error=None,
                    attempts=DeliveryRow.attempts + 1,
                    updated_at=now,
                ),
                [
                    {"delivery_id": delivery_id, "sent_message_id": message_id}
                    for delivery_id, message_id in sent
                ],
            )

    async def mark_blocked(self, delivery_id: int, error: str) -> None:
        """Record a refusal (403, chat gone) and deactivate the chat, in one transaction."""
        async with self._transaction() as connection:
            chat_id = (
                await connection.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(_OPEN))
                    .values(
                        status="blocked",
                        error=error,
                        attempts=DeliveryRow.attempts + 1,
                        updated_at=_now(),
                    )
                    .returning(DeliveryRow.chat_id)
                )
            ).scalar_one_or_none()
            if chat_id is not None:
                await _deactivate(connection, chat_id, error, closed_as="blocked")

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Give the delivery up for good (final)."""
        await self._finish(delivery_id, status="failed", message_id=None, error=error)

    async def retry_later(
        self, delivery_id: int, *, at: datetime, error: str, count_attempt: bool = True
    ) -> None:
        """Put the delivery back to 'pending', due at ``at``.

        ``count_attempt=False`` for waits that are not failures (429 ``retry_after``).
        """
        at = _aware(at)
        async with self._transaction() as connection:
            await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(_OPEN))
                .values(
                    status="pending",
                    next_attempt_at=at,
                    error=error,
                    attempts=DeliveryRow.attempts + (1 if count_attempt else 0),
                    updated_at=_now(),
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
        async with self._transaction() as connection:
            for claimed_at, ids in claims.items():
                await connection.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id.in_(ids),
                        DeliveryRow.status == "sending",
                        DeliveryRow.updated_at == claimed_at,
                    )
                    .values(status="pending", updated_at=_now())
                )

    async def requeue_in_flight(self) -> int:
        """At start: every 'sending' delivery back to 'pending'; how many there were.

        Only for a single sender (or when every sender restarts): a live sender's in-flight
        rows would be sent twice.
        """
        async with self._transaction() as connection:
            result = await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.status == "sending")
                .values(status="pending", updated_at=_now())
            )
            requeued = result.rowcount
        if requeued:
            _log.info("requeued %d deliveries left in flight", requeued)
        return requeued

    async def broadcast_parts(self, broadcast_id: int) -> list[str]:
        """The messages of broadcast ``broadcast_id``; KeyError if there is none."""
        async with self._transaction() as connection:
            parts = (
                await connection.execute(
                    select(BroadcastRow.parts).where(BroadcastRow.id == broadcast_id)
                )
            ).scalar_one_or_none()
        if parts is None:
            raise KeyError(broadcast_id)
        return list(parts)

    async def latest_broadcast(self) -> BroadcastProgress | None:
        """The newest broadcast and its deliveries by state; None before the first."""
        async with self._transaction() as connection:
            broadcast = (
                await connection.execute(
                    select(
                        BroadcastRow.id,
                        BroadcastRow.kind,
                        BroadcastRow.version_id,
                        BroadcastRow.created_at,
                        BroadcastRow.recipients,
                    )
                    .order_by(BroadcastRow.id.desc())
                    .limit(1)
                )
            ).one_or_none()
            if broadcast is None:
                return None
            rows = await connection.execute(
                select(DeliveryRow.status, func.count())
                .where(DeliveryRow.broadcast_id == broadcast.id)
                .group_by(DeliveryRow.status)
            )
            counts: dict[str, int] = dict(rows.all())
        return BroadcastProgress(
            broadcast_id=broadcast.id,
            kind=broadcast.kind,
            version_id=broadcast.version_id,
            created_at=broadcast.created_at,
            recipients=broadcast.recipients,
            pending=counts.get("pending", 0),
            sending=counts.get("sending", 0),
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
            cancelled=counts.get("cancelled", 0),
        )

    async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]:
        """Those of ``delivery_ids`` that are claimed and should still go out, in one query."""
        if not delivery_ids:
            return set()
        async with self._transaction() as connection:
            rows = await connection.execute(
                select(DeliveryRow.id).where(
                    DeliveryRow.id.in_(list(delivery_ids)), DeliveryRow.status == "sending"
                )
            )
            return set(rows.scalars())

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscription and open deliveries follow it."""
        async with self._transaction() as connection:
            row = (
                await connection.execute(
                    select(SubscriptionRow).where(SubscriptionRow.chat_id == old_chat_id)
                )
            ).one_or_none()
            if row is None:
                return
            now = _now()
            moved = {
                "chat_type": "supergroup",
                "title": row.title,
                "active": row.active,
                "inactive_reason": row.inactive_reason,
                "subscribed_at": row.subscribed_at,
                "updated_at": now,
            }
            exists = (
                await connection.execute(
                    select(SubscriptionRow.chat_id).where(SubscriptionRow.chat_id == new_chat_id)
                )
            ).one_or_none()
            if exists is None:
                await connection.execute(
                    insert(SubscriptionRow).values(chat_id=new_chat_id, **moved)
                )
            else:
                await connection.execute(
                    update(SubscriptionRow)
                    .where(SubscriptionRow.chat_id == new_chat_id)
                    .values(**moved)
                )
            await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.chat_id == old_chat_id, DeliveryRow.status.in_(_OPEN))
                .values(chat_id=new_chat_id, updated_at=now)
            )
            await connection.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.chat_id == old_chat_id)
                .values(active=False, inactive_reason=f"migrated to {new_chat_id}", updated_at=now)
            )

    async def next_due_at(self) -> datetime | None:
        """The earliest due time among 'pending' deliveries; None when there are none."""
        async with self._transaction() as connection:
            return (
                await connection.execute(
                    select(func.min(DeliveryRow.next_attempt_at)).where(
                        DeliveryRow.status == "pending"
                    )
                )
            ).scalar_one()

    async def _finish(
        self, delivery_id: int, *, status: str, message_id: int | None, error: str | None
    ) -> None:
        async with self._transaction() as connection:
            await connection.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(_OPEN))
                .values(
                    status=status,
                    message_id=message_id,
                    error=error,
                    attempts=DeliveryRow.attempts + 1,
                    updated_at=_now(),
                )
            )


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


async def _load_version(connection: AsyncConnection, version_id: int) -> Version:
    row = (
        await connection.execute(select(*_VERSION_COLUMNS).where(VersionRow.id == version_id))
    ).one()
    return _version(row)


async def _version_before(connection: AsyncConnection, version_id: int) -> Version | None:
    """The version that ``version_id`` replaced when it was published, if any.

    Not simply the next older id: after a rollback from v2 to v1 and a new v3, rolling back
    from v3 must restore v1, not the retracted v2.
    """
    replaced = (await _load_version(connection, version_id)).replaces_version_id
    return None if replaced is None else await _load_version(connection, replaced)


async def _broadcast(
    connection: AsyncConnection,
    version_id: int,
    kind: BroadcastKind,
    parts: list[str],
    created_by: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Insert a broadcast and its deliveries; its id and the number of recipients."""
    broadcast_id = (
        await connection.execute(
            insert(BroadcastRow)
            .values(
                version_id=version_id,
                kind=kind,
                parts=list(parts),
                created_at=now,
                created_by=created_by,
                recipients=0,
            )
            .returning(BroadcastRow.id)
        )
    ).scalar_one()
    recipients = (await connection.execute(_enqueue_statement(broadcast_id, now))).rowcount
    await connection.execute(
        update(BroadcastRow).where(BroadcastRow.id == broadcast_id).values(recipients=recipients)
    )
    return broadcast_id, recipients


async def _deactivate(
    connection: AsyncConnection, chat_id: int, reason: str, *, closed_as: str
) -> bool:
    """Deactivate an active subscription and close its pending deliveries; True if it was active."""
    now = _now()
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
        .where(DeliveryRow.chat_id == chat_id, DeliveryRow.status.in_(_OPEN))
        .values(status=closed_as, error=reason, updated_at=now)
    )
    return True
