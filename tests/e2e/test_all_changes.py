"""An update too long for one message: the most important changes, and a button for all."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.digest import Digest
from bot.digest.diff import diff_digests
from bot.digest.model import KeyPoint
from bot.library import CHANGES_PREFIX, DigestLibrary
from bot.markup import visible_length
from bot.render import Renderer
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import EDIT
from tests.conftest import EditDigest
from tests.e2e import ADMIN, converse, polling
from tests.postgres import open_store


def long_digest(digest: Digest) -> Digest:
    """The seed with forty long key points more: far beyond one message of changes."""
    document = digest.document
    points = [
        KeyPoint(text=f"Point {n}: " + "a long sentence of words " * 12, cite=[1])
        for n in range(40)
    ]
    longer = document.model_copy(update={"key_points": [*document.key_points, *points]})
    return Digest(digest.path, longer, digest.article, "f" * 64, "x")


async def test_a_cut_update_carries_a_button_for_every_change(
    digest: Digest, tmp_path: Path
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}")
    try:
        library = DigestLibrary(store, digest.path, Renderer(), digest)
        new = long_digest(digest)
        diff = diff_digests(digest.document, new.document)
        announcement = library.announcement(new, diff, correction=False, base_id=7)
        [message] = announcement.parts
        assert visible_length(message) <= 4096
        assert "more changes" in message
        assert announcement.keyboard is not None
        [[button]] = announcement.keyboard["inline_keyboard"]
        assert button["callback_data"] == f"{CHANGES_PREFIX}7:{new.fingerprint[:16]}"
        assert len(button["callback_data"].encode()) <= 64
        # A short update needs no button.
        small = diff_digests(digest.document, digest.document.model_copy(update={"summary": "S."}))
        assert library.announcement(digest, small, correction=False, base_id=7).keyboard is None
    finally:
        await store.close()


async def test_the_button_lists_every_change_of_its_update(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        [welcome] = await converse(api, 51, "/start")
        first = application.bot_data.library.version
        edit_digest(*EDIT)
        await converse(api, ADMIN, "/reload")
        second = application.bot_data.library.version
        data = f"{CHANGES_PREFIX}{first.id}:{second.fingerprint[:16]}"
        before = len(api.messages(51))
        api.press_button(51, welcome.message_id, data, check=False)
        [listed] = (await api.wait_for_messages_async(51, before + 1))[before:]
        assert "Every change" in listed.visible_text
        assert "Still speaking to reporters" in listed.visible_text
        api.press_button(51, welcome.message_id, f"{CHANGES_PREFIX}{first.id}:ffff", check=False)
        [gone] = (await api.wait_for_messages_async(51, before + 2))[before + 1 :]
        assert "no longer available" in gone.visible_text


async def test_the_button_reaches_subscribers_with_the_update(
    api: BotApiDouble, settings: Settings
) -> None:
    async with polling(api, settings) as application:
        await converse(api, 52, "/subscribe")
        services = application.bot_data
        keyboard = {
            "inline_keyboard": [[{"text": "📋 See every change", "callback_data": "changes:1:ab"}]]
        }
        await services.store.versions.publish(
            fingerprint="e" * 64,
            digest_yaml=services.library.current.digest_text,
            article_text=services.library.current.article.text,
            published_by=ADMIN,
            reason="reload",
            file_fingerprint=None,
            announcement=["🔔 <b>Update:</b> first part", "🔔 second part"],
            keyboard=keyboard,
        )
        services.sender.wake()
        [first, second] = (await api.wait_for_messages_async(52, 3))[1:]
    assert first.buttons() == []  # the keyboard goes under the last part only
    assert [button["callback_data"] for button in second.buttons()] == ["changes:1:ab"]
