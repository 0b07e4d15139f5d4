"""Sections, paragraphs and keyboards are rendered once per served digest: a /reload or a
/rollback is seen at once, and what differs between chats still differs."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.chat.keyboards import SharedKeyboard, paragraphs_keyboard, sections_keyboard
from bot.config import Settings
from bot.digest import Digest
from bot.render import DigestCache, Renderer
from tests.botapi import BotApiDouble
from tests.conftest import ARTICLE_NAME, EditDigest
from tests.e2e import ADMIN, converse, polling, text_of

USER = 7102
OTHER = 7103
GROUP = -100710
QUOTE_CONTEXT = "    context: Continuing the same remarks."
PARAGRAPH_NINE = "Chertoff said the plan would benefit both countries."


async def test_a_reload_and_a_rollback_are_seen_in_the_very_next_reply(
    api: BotApiDouble, settings: Settings, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        library = application.bot_data.library
        # Every cached reply rendered once from version 1 ...
        assert "Continuing the same remarks." in await text_of(api, USER, "/quotes")
        assert PARAGRAPH_NINE in await text_of(api, USER, "/source 9")
        [source] = await converse(api, USER, "/source")
        assert [b["text"] for b in source.buttons()] == [f"¶ {n}" for n in range(1, 12)]
        version_one = library.cache
        assert len(version_one) >= 3
        assert "Continuing the same remarks." in await text_of(api, OTHER, "/quotes")

        # ... a new digest and a new article paragraph, published.
        edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
        article = seeds_copy.with_name(ARTICLE_NAME)
        text = article.read_text(encoding="utf-8")
        article.write_text(text.replace("both countries.", "both nations."), encoding="utf-8")
        assert (await text_of(api, ADMIN, "/reload")).startswith("✅ Published version 2.")
        assert library.cache is not version_one
        assert library.cache.digest is library.current

        quotes = await text_of(api, USER, "/quotes")
        assert "Still speaking." in quotes
        assert "Continuing the same remarks." not in quotes
        nine = await text_of(api, USER, "/source 9")
        assert "Chertoff said the plan would benefit both nations." in nine
        assert PARAGRAPH_NINE not in nine

        # Back to version 1: its text again, not version 2's from the cache.
        assert (await text_of(api, ADMIN, "/rollback")).startswith("↩️ Version 1 is current again.")
        assert library.cache.digest is library.current
        quotes = await text_of(api, USER, "/quotes")
        assert "Continuing the same remarks." in quotes
        assert "Still speaking." not in quotes
        assert PARAGRAPH_NINE in await text_of(api, USER, "/source 9")

        # An unchanged file publishes nothing and keeps what was rendered.
        edit_digest("    context: Still speaking.", QUOTE_CONTEXT)
        article.write_text(text, encoding="utf-8")
        kept = library.cache
        assert (await text_of(api, ADMIN, "/reload")).startswith("No changes")
        assert library.cache is kept


async def test_what_differs_between_chats_still_differs(
    api: BotApiDouble, settings: Settings
) -> None:
    async with polling(api, settings):
        [private] = await converse(api, USER, "/summary")
        [group] = await converse(api, GROUP, "/summary", chat_type="supergroup")
        assert group.text == private.text
        assert group.reply_markup == private.reply_markup

        # A forum topic: the same cached section, sent into that topic only.
        before = len(api.messages(GROUP))
        api.push_update(
            {
                "message": {
                    "message_id": 9001,
                    "message_thread_id": 42,
                    "is_topic_message": True,
                    "date": 1_700_000_000,
                    "chat": {"id": GROUP, "type": "supergroup", "title": "Forum", "is_forum": True},
                    "from": {"id": 424242, "is_bot": False, "first_name": "Alice"},
                    "text": "/summary",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                }
            }
        )
        [topic] = (await api.wait_for_messages_async(GROUP, before + 1))[before:]
        assert topic.text == private.text
        sends = [call.params for call in api.calls_to("sendMessage")]
        threads = [params.get("message_thread_id") for params in sends[-3:]]
        assert threads == [None, None, 42]

        # What the user typed is quoted back, so it is rendered for each request.
        assert "no paragraph “98”" in await text_of(api, USER, "/source 98")
        assert "no paragraph “99”" in await text_of(api, USER, "/source 99")
        assert await text_of(api, USER, "/source 05") == await text_of(api, USER, "/source 5")

        # Group and private wording is chosen per chat, after the sections were cached.
        assert (await text_of(api, USER, "/status")).startswith("Subscription\nYou are not")
        group_status = await text_of(api, GROUP, "/status", "supergroup")
        assert "This group is not subscribed." in group_status


def test_the_cache_computes_each_value_once_and_keeps_a_bounded_number(digest: Digest) -> None:
    cache = DigestCache(digest, max_entries=2)
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    for key in ("a", "b", "a", "c", "c", "b"):
        assert cache.get(key, partial(compute, key)) == key.upper()
    assert calls == ["a", "b", "c", "c"]  # "c" found no room: computed each time
    assert len(cache) == 2


def test_a_shared_keyboard_is_sent_as_the_plain_one_would_be(digest: Digest) -> None:
    labels = Renderer().labels
    shared = paragraphs_keyboard(labels, [1, 2, 3, 4, 5, 6, 7])
    assert isinstance(shared, SharedKeyboard)
    plain = InlineKeyboardMarkup(shared.inline_keyboard)
    assert shared == plain
    first: dict[str, Any] = shared.to_dict()
    assert first == plain.to_dict()
    first["inline_keyboard"][0][0]["text"] = "changed"  # each request gets its own copy
    assert shared.to_dict() == plain.to_dict()
    assert json.loads(shared.to_json()) == plain.to_dict()
    assert (
        sections_keyboard(labels).to_dict()
        == InlineKeyboardMarkup(sections_keyboard(labels).inline_keyboard).to_dict()
    )
