"""Backup and restore of an SQLite state mid-broadcast (issue 16, item 4).

The backup is SQLite's online backup (``sqlite3.Connection.backup``, what the ``sqlite3``
shell's ``.backup`` does), taken while the bot sends; the restore copies it into a new file;
a new bot on that file finishes the broadcast. The figures printed (``-s``) are the
README's Reliability table.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from tests.botapi import BotApiDouble
from tests.broadcast_helpers import (
    ADMIN,
    EDIT,
    add_subscribers,
    broadcast_settings,
    database_url,
    delivered_chats,
    ledger,
    lost_and_twice,
    update_calls,
)
from tests.conftest import EditDigest
from tests.e2e import converse, polling

RATE = 50.0


def copy_online(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections write."""
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)


async def test_a_backup_taken_mid_broadcast_restores_to_a_bot_that_skips_nobody(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(9001, 9301))
    live, backup, restored = (tmp_path / name for name in ("live.db", "backup.db", "new.db"))
    await add_subscribers(database_url(live), subscribers)
    async with polling(api, broadcast_settings(api, live, seeds_copy, RATE)):
        edit_digest(*EDIT)
        await converse(api, ADMIN, "/reload")
        await api.wait_for_async(lambda d: len(update_calls(d)) >= 100, timeout=20)
        backup_started = time.monotonic()
        await asyncio.to_thread(copy_online, live, backup)
        backup_took = time.monotonic() - backup_started
        # The machine is lost right after the backup: the bot stops (its sends under way
        # finish: they are the messages the backup cannot know about).
    before = delivered_chats(api)

    copy_online(backup, restored)  # the restore: the backup into a new file
    in_backup = {chat: status for _, chat, status in ledger(restored)}
    assert set(in_backup) == set(subscribers)
    open_in_backup = {chat for chat, status in in_backup.items() if status != "sent"}
    assert open_in_backup, "the backup was taken after the broadcast ended"

    with BotApiDouble() as second:
        async with polling(second, broadcast_settings(second, restored, seeds_copy, RATE)):
            await second.wait_for_async(
                lambda d: set(delivered_chats(d)) >= open_in_backup, timeout=30
            )
            await asyncio.sleep(0.5)  # anything more it would send, it sends by now
        after = delivered_chats(second)
        assert second.violations == []

    statuses = Counter(status for *_, status in ledger(restored))
    assert statuses == {"sent": len(subscribers)}
    # The restored bot sends exactly what the backup had not recorded as sent.
    assert set(after) == open_in_backup
    assert max(after.values()) == 1
    everyone = before + after
    skipped, twice = lost_and_twice(everyone, subscribers)
    sent_since_backup = [c for c in update_calls(api) if c.time >= backup_started]
    print(
        f"\nSQLite online backup mid-broadcast ({len(subscribers)} subscribers, {RATE:.0f}/s; "
        f"the backup took {backup_took * 1000:.0f} ms): restored bot sent {len(after)}, "
        f"skipped {len(skipped)}, sent twice {len(twice)} (the old bot sent "
        f"{len(sent_since_backup)} after the backup began, before it stopped)"
    )
    assert skipped == []
    # A second copy only for a message the backup did not record as sent: sent while it
    # was taken or after, or in flight (sent, outcome uncommitted) when it was taken.
    assert set(twice) <= open_in_backup
