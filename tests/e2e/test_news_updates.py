"""Updates that carry the news to the right chats: one combined message for several publishes,
silent subscriptions, and the questions nobody answered — end to end, over HTTP, on SQLite."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from bot.chat.context import BriefApplication
from bot.store.questions import KEPT, question_key
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import (
    ADMIN,
    EDIT,
    SECOND_EDIT,
    add_subscribers,
    broadcast_settings,
    database_url,
    reload,
    updates,
)
from tests.conftest import EditDigest
from tests.e2e import converse, polling
from tests.postgres import open_store

THIRD_EDIT = (
    "    context: On how the Megaports plan would benefit both countries.",
    "    context: On what the Megaports plan would bring both countries.",
)


def statuses(database: Path) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))


async def test_three_quick_publishes_reach_each_subscriber_as_one_combined_message(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    database = tmp_path / "state.sqlite3"
    chats = list(range(10_001, 10_301))  # 300 subscribers, at 25 messages a second: 12 s
    await add_subscribers(database_url(database), chats)
    settings = broadcast_settings(api, database, seeds_copy, 25)
    async with polling(api, settings) as application:
        for edit in (EDIT, SECOND_EDIT, THIRD_EDIT):
            edit_digest(*edit)
            assert "Published version" in await reload(api)
        await drained(application, database, within=120)
    rows = ledger_rows(database)
    final = {broadcast for broadcast, _chat, _status, newest in rows if newest}
    for chat in chats:
        received = updates(api, chat)
        sent = [broadcast for broadcast, c, status, _ in rows if c == chat and status == "sent"]
        # Every message the chat got is a row the ledger sent, and exactly one of them comes
        # from the last publication; the others were handed out before it.
        assert len(received) == len(sent), chat
        assert sum(broadcast in final for broadcast in sent) == 1, chat
        assert "bring both countries" in received[-1].visible_text, chat
    handed_out = sum(1 for b, _c, status, _ in rows if status == "sent" and b not in final)
    combined = sum(1 for b, _c, status, _ in rows if status == "cancelled" and b not in final)
    print(
        f"\n3 publishes to {len(chats)}: {handed_out} messages handed out before the last, "
        f"{combined} unsent ones replaced by one combined message"
    )
    assert combined > 0  # the publishes came faster than 25 messages a second drain


def ledger_rows(database: Path) -> list[tuple[int, int, str, bool]]:
    """(broadcast, chat, status, of the newest publication) for every delivery."""
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT d.broadcast_id, d.chat_id, d.status, "
            "b.created_at = (SELECT max(created_at) FROM broadcasts) "
            "FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id"
        ).fetchall()
    return [(int(b), int(c), str(s), bool(n)) for b, c, s, n in rows]


async def drained(application: BriefApplication, database: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        counts = statuses(database)
        if not counts.get("pending") and not counts.get("sending"):
            return
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.2)


async def test_a_publish_undone_before_it_was_sent_sends_nothing(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    database = tmp_path / "state.sqlite3"
    chats = list(range(20_001, 20_401))  # more than the sender claims at once
    await add_subscribers(database_url(database), chats)
    async with polling(api, broadcast_settings(api, database, seeds_copy, 25)) as application:
        edit_digest(*EDIT)
        assert "Published version" in await reload(api)
        [rolled_back] = await converse(api, ADMIN, "/rollback")
        assert "current again" in rolled_back.visible_text
        await drained(application, database, within=30)
    # Those told of the edit are told it was undone; those not yet told hear nothing at all.
    for chat in chats:
        received = updates(api, chat)
        corrections = [m for m in api.messages(chat) if "Correction" in m.visible_text]
        assert len(corrections) == len(received), chat
    cancelled = statuses(database).get("cancelled", 0)
    assert cancelled > 0


async def test_silent_subscribers_get_updates_without_a_sound(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    database = tmp_path / "state.sqlite3"
    async with polling(api, broadcast_settings(api, database, seeds_copy, 25)) as application:
        [quiet] = await converse(api, 31, "/subscribe silent")
        assert "without a sound" in quiet.visible_text
        [loud] = await converse(api, 32, "/subscribe")
        assert loud.visible_text.startswith("✅ Subscribed.")
        [status] = await converse(api, 31, "/status")
        assert "without a sound" in status.visible_text
        [usage] = await converse(api, 33, "/subscribe loudly")
        assert "/subscribe silent" in usage.visible_text
        edit_digest(*EDIT)
        await reload(api)
        await drained(application, database, within=30)
        [switched] = await converse(api, 31, "/subscribe")
        assert "with a sound again" in switched.visible_text
    sends = {
        call.params["chat_id"]: call.params.get("disable_notification")
        for call in api.calls_to("sendMessage")
        if str(call.params.get("text", "")).startswith("🔔 <b>Update:</b>")
    }
    assert sends == {31: True, 32: None}
    assert not await subscribed(database, 33)


async def subscribed(database: Path, chat: int) -> bool:
    store = await open_store(database_url(database))
    try:
        found = await store.subscriptions.subscription(chat)
        return found is not None and found.active
    finally:
        await store.close()


async def test_unanswered_questions_are_counted_for_admins_only(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path
) -> None:
    database = tmp_path / "state.sqlite3"
    async with polling(api, broadcast_settings(api, database, seeds_copy, 25)) as application:
        for chat, question in [
            (9_410_041, "What does the weather forecast say?"),
            (9_420_042, "what does the weather forecast say"),
            (9_430_043, "Who won the football match?"),
            (9_440_044, "how many migrants?"),  # answered: not counted
        ]:
            await converse(api, chat, question)
        # Counted just after each reply, in each chat's own turn: wait for the last count.
        unanswered = application.bot_data.store.unanswered
        for _ in range(200):
            if sum(q.count for q in await unanswered.most_asked()) == 3:
                break
            await asyncio.sleep(0.02)
        [listed] = await converse(api, ADMIN, "/unanswered")
        [refused] = await converse(api, 9_410_041, "/unanswered")
    text = listed.visible_text
    # Kept as whichever of the two askings was counted first (they are counted side by side).
    assert re.search(r"1\. “what does the weather forecast say\??” — 2 times", text, re.IGNORECASE)
    assert "2. “Who won the football match?” — 1 time," in text
    assert "migrants" not in text
    for user in ("9410041", "9420042", "9430043"):
        assert user not in text  # no user ids
    assert "admins only" in refused.visible_text


EDITOR_ANSWER = """
questions:
  - question: Where are the migrants held while they wait?
    answer: >-
      Not all are held: there is not enough space at immigration detention centers, so U.S.
      authorities have released thousands into the community.
    cite: [4]
"""


async def test_a_question_the_editor_answers_after_a_reload_is_listed_as_answered(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path
) -> None:
    # The editor's loop: a reader's question goes unanswered, the editor answers it in the
    # digest and reloads, and /unanswered shows that the digest answers it now, and where.
    question = "Where are the migrants held while they wait?"
    database = tmp_path / "state.sqlite3"
    async with polling(api, broadcast_settings(api, database, seeds_copy, 25)):
        [refused] = await converse(api, 9_450_045, question)
        assert "does not say" in refused.visible_text
        await asyncio.sleep(0.2)  # the reader's count is committed after the reply
        [before] = await converse(api, ADMIN, "/unanswered")
        with seeds_copy.open("a", encoding="utf-8") as digest:
            digest.write(EDITOR_ANSWER)
        assert "Published version" in await reload(api)
        [after] = await converse(api, ADMIN, "/unanswered")
        [answered] = await converse(api, 9_450_045, question)
    assert f"1. “{question}” — 1 time," in before.visible_text
    assert "Answered now" not in before.visible_text
    # No longer on the to-do list: below it, answered, with the paragraph that answers it.
    assert "None open: the digest now answers every question asked most." in after.visible_text
    assert re.search(
        r"Answered now .*\n• “Where are .*” — 1 time, last .* \[¶ 4\]", after.visible_text
    )
    assert "not enough space at immigration detention centers" in answered.visible_text


async def test_the_unanswered_list_keeps_the_most_asked(tmp_path: Path) -> None:
    store = await open_store(database_url(tmp_path / "state.sqlite3"))
    try:
        for _ in range(3):
            await store.unanswered.record("The one everybody asks?")
        for number in range(KEPT + 60):
            await store.unanswered.record(f"question number {number}")
        listed = await store.unanswered.most_asked(3)
        assert listed[0].text == "The one everybody asks?" and listed[0].count == 3
        with closing(sqlite3.connect(tmp_path / "state.sqlite3")) as connection:
            [(held,)] = connection.execute("SELECT count(*) FROM unanswered_questions")
        assert held <= KEPT + 50
        assert question_key("  What about Taiwan?! ") == question_key("what about taiwan")
    finally:
        await store.close()
