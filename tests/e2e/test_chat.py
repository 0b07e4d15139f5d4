"""The bot end to end: the real application over real HTTP against the Bot API double.

Every request the bot makes is checked by the double against the Bot API 10.1 spec and
Telegram's HTML rules; each test ends by asserting that nothing was violated.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.chat import app as chat_app
from bot.chat import commands
from bot.digest import Digest, load_digest
from bot.render import Renderer
from tests.botapi import BotApiDouble, Fault
from tests.conftest import EditDigest
from tests.e2e import converse, polling, settings_for

USER = 1001
GROUP = -100200300


@pytest.mark.usefixtures("bot")
async def test_start_shows_headline_and_sections_and_buttons_open_them(
    api: BotApiDouble, digest: Digest
) -> None:
    [welcome] = await converse(api, USER, "/start")
    assert digest.document.title in welcome.visible_text
    labels = [button["text"] for button in welcome.buttons()]
    assert labels == [
        "📰 Summary",
        "💬 Quotes",
        "🔢 Figures",
        "👥 People & places",
        "🕒 Timeline",
        "📄 Source",
    ]

    before = len(api.messages(USER))
    query = api.press_button(USER, welcome.message_id, welcome.callback_data("Figures"))
    [figures] = (await api.wait_for_messages_async(USER, before + 1))[before:]
    assert query in api.answered_callbacks
    assert figures.visible_text.startswith("Figures")
    assert api.messages(USER)[before - 1].edits == 0  # the menu stays as it was


@pytest.mark.usefixtures("bot")
async def test_summary(api: BotApiDouble, digest: Digest) -> None:
    [summary] = await converse(api, USER, "/summary")
    assert summary.visible_text.startswith(digest.document.title)
    assert "Key figure: about 39,000" in summary.visible_text
    assert all(point.text in summary.visible_text for point in digest.document.key_points)


@pytest.mark.usefixtures("bot")
async def test_quotes_verbatim_with_chertoff_named(api: BotApiDouble, digest: Digest) -> None:
    [quotes] = await converse(api, USER, "/quotes")
    for quote in digest.document.quotes:
        assert f"“{quote.text}”" in quotes.visible_text
    assert quotes.visible_text.count("— Michael Chertoff, U.S. Homeland Security Chief") == 3
    assert "<blockquote>" in quotes.text


@pytest.mark.usefixtures("bot")
async def test_figures_people_timeline(api: BotApiDouble) -> None:
    [figures] = await converse(api, USER, "/figures")
    assert "about 39,000" in figures.visible_text
    assert "thousands" in figures.visible_text
    [people] = await converse(api, USER, "/people")
    for name in (
        "Michael Chertoff",
        "Chinese foreign ministry spokesman",
        "Megaports Initiative",
        "Beijing",
        "Hong Kong",
    ):
        assert name in people.visible_text
    [timeline] = await converse(api, USER, "/timeline")
    assert "This week" in timeline.visible_text
    assert not re.search(
        r"\b(19|20)\d\d\b|January|February|March|April|June|July|August|September|October|November|December",
        timeline.visible_text,
    )


@pytest.mark.usefixtures("bot")
async def test_source_and_paragraphs(api: BotApiDouble, digest: Digest) -> None:
    [source] = await converse(api, USER, "/source")
    assert "Publisher: unknown" in source.visible_text
    assert [button["text"] for button in source.buttons()] == [f"¶ {n}" for n in range(1, 12)]

    before = len(api.messages(USER))
    api.press_button(USER, source.message_id, source.callback_data("¶ 8"))
    [eight] = (await api.wait_for_messages_async(USER, before + 1))[before:]
    assert eight.visible_text.startswith("Paragraph 8 of 11")
    assert digest.article.paragraph(8) in eight.visible_text

    [five] = await converse(api, USER, "/source 5")
    assert '"If we start to show progress' in five.visible_text
    for bad in ("99", "0", "abc", "-3"):
        [refusal] = await converse(api, USER, f"/source {bad}")
        assert (
            f"There is no paragraph “{bad}”: the article has paragraphs 1 to 11"
            in refusal.visible_text
        )


@pytest.mark.usefixtures("bot")
async def test_deep_links_open_a_section(api: BotApiDouble) -> None:
    [quotes] = await converse(api, USER, "/start quotes")
    assert quotes.visible_text.startswith("What was said")
    [welcome] = await converse(api, USER, "/start nonsense")
    assert welcome.visible_text.startswith("👋")


@pytest.mark.usefixtures("bot")
async def test_help_and_private_plain_text_and_unknown_commands(api: BotApiDouble) -> None:
    [help_message] = await converse(api, USER, "/help")
    for command in ("/summary", "/quotes", "/figures", "/people", "/timeline", "/source"):
        assert command in help_message.visible_text
    [answer] = await converse(api, USER, "how many migrants?")
    assert answer.visible_text.startswith("about 39,000 — illegal Chinese migrants")
    [unknown] = await converse(api, USER, "/frobnicate now")
    assert (
        unknown.visible_text
        == "I don't know the command /frobnicate. Send /help to see what I can do."
    )


@pytest.mark.usefixtures("bot")
async def test_help_lists_the_commands_of_the_table_in_order(api: BotApiDouble) -> None:
    [help_message] = await converse(api, USER, "/help")
    listed = re.findall(r"^/(\w+) — ", help_message.visible_text, flags=re.MULTILINE)
    assert listed == list(commands.HELP_COMMANDS)
    assert listed[:6] == ["summary", "quotes", "figures", "people", "timeline", "source"]
    assert "/subscribe — one message whenever the brief changes" in help_message.visible_text
    assert not {"reload", "rollback", "stats"} & set(listed)  # admin commands are not advertised


@pytest.mark.usefixtures("bot")
async def test_an_old_or_forged_button_is_only_answered(api: BotApiDouble) -> None:
    [welcome] = await converse(api, USER, "/start")
    queries = {
        api.press_button(USER, welcome.message_id, forged, check=False)
        for forged in ("section:nonsense", "paragraph:abc", "vote:1")
    }
    await api.wait_for_async(lambda double: queries <= double.answered_callbacks)
    [help_message] = await converse(api, USER, "/help")  # nothing was sent before it
    assert help_message.visible_text.startswith("Story Brief")
    assert len(api.messages(USER)) == 2


@pytest.mark.usefixtures("bot")
async def test_a_paragraph_button_the_article_lacks_says_which_exist(api: BotApiDouble) -> None:
    [welcome] = await converse(api, USER, "/start")
    api.press_button(USER, welcome.message_id, "paragraph:99", check=False)
    [refusal] = (await api.wait_for_messages_async(USER, 2))[1:]
    assert refusal.visible_text.startswith("There is no paragraph “99”")


@pytest.mark.usefixtures("bot")
async def test_group_etiquette(api: BotApiDouble) -> None:
    group = "supergroup"
    api.send_text(GROUP, "hello everyone", chat_type=group)
    api.send_text(GROUP, "/summary@SomeOtherBot", chat_type=group)
    api.send_text(GROUP, "/frobnicate", chat_type=group)
    [figures] = await converse(api, GROUP, "/figures@StoryBriefBot", chat_type=group)
    [summary] = await converse(api, GROUP, "/summary", chat_type=group)
    assert figures.visible_text.startswith("Figures")
    assert summary.visible_text.startswith("US Homeland Security Chief")
    assert len(api.messages(GROUP)) == 2  # nothing for the chatter, the other bot or /frobnicate


@pytest.mark.usefixtures("bot")
async def test_edited_command_is_not_answered_again(api: BotApiDouble) -> None:
    [summary] = await converse(api, USER, "/summary")
    message = api.calls_to("sendMessage")[-1]
    assert message.params["parse_mode"] == "HTML"
    api.push_update(
        {
            "edited_message": {
                "message_id": 1,
                "date": 0,
                "edit_date": 1,
                "chat": {"id": USER, "type": "private", "first_name": "A"},
                "from": {"id": USER, "is_bot": False, "first_name": "A"},
                "text": "/figures",
                "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
            }
        }
    )
    [help_message] = await converse(api, USER, "/help")
    assert help_message.visible_text.startswith("Story Brief")
    assert [m.message_id for m in api.messages(USER)] == [
        summary.message_id,
        help_message.message_id,
    ]


async def test_commands_are_registered_even_after_failures(
    api: BotApiDouble, digest: Digest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(chat_app, "RETRY_FIRST_DELAY", 0.05)
    api.inject(Fault(method="setMyCommands", status=500, times=2))
    api.inject(Fault(method="setMyCommands", status=502, times=1))
    async with polling(api, settings_for(api, tmp_path / "state.sqlite3"), digest):
        [welcome] = await converse(api, USER, "/start")  # serves while the menu call fails
        assert welcome.buttons()
        await api.wait_for_async(lambda double: bool(double.commands()), timeout=10)
    assert [call.response_status for call in api.calls_to("setMyCommands")] == [500, 500, 502, 200]
    public = [c.name for c in commands.COMMANDS if c.audience == "public" and c.in_menu]
    assert [command["command"] for command in api.commands()] == public
    assert public[:6] == ["summary", "quotes", "figures", "people", "timeline", "source"]
    assert "help" in public and not {"reload", "rollback", "stats"} & set(public)
    menu = {command["command"]: command["description"] for command in api.commands()}
    assert menu["source"] == Renderer().labels.command_menu["source"]


def test_every_command_of_the_table_has_its_words() -> None:
    labels = Renderer().labels
    for command in commands.COMMANDS:
        assert labels.command_menu[command.name], command.name
    public, admin = commands.menus(labels)  # raises if a menu line is missing
    assert [c.command for c in admin] == [c.command for c in public] + list(commands.ADMIN_COMMANDS)
    with pytest.raises(ValueError, match="1 to 32"):
        commands.Command("Summary", commands.page("help.html"))


async def test_unexpected_error_is_logged_and_the_user_gets_an_apology(
    api: BotApiDouble, digest: Digest, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    api.inject(
        Fault(
            method="sendMessage",
            chat_id=USER,
            status=400,
            description="Bad Request: something unexpected",
            times=1,
        )
    )
    async with polling(api, settings_for(api, tmp_path / "state.sqlite3"), digest):
        with caplog.at_level(logging.ERROR, logger="bot.chat.fallbacks"):
            [apology] = await converse(api, USER, "/summary")
        [summary] = await converse(api, USER, "/summary")  # still serving
    assert apology.visible_text.startswith("Sorry, something went wrong on my side")
    assert summary.visible_text.startswith("US Homeland Security Chief")
    [record] = [r for r in caplog.records if r.name == "bot.chat.fallbacks"]
    assert record.exc_info is not None
    assert "Something unexpected" in str(record.exc_info[1])


def long_summary_digest(edit_digest: EditDigest) -> Digest:
    """The shipped digest with 60 more key points: its /summary takes three messages."""
    point = "    cite: [3]\n  - text: >-\n      He said U.S. authorities have had"
    many = "".join(
        f"    cite: [3]\n  - text: China agreed to cooperate more against the criminal organizations that smuggle Chinese laborers, point {'i' * (n % 7 + 1)}.\n"
        for n in range(60)
    )
    path, _ = edit_digest(point, many + point)
    return load_digest(Path(path))


async def test_long_replies_are_split_at_paragraphs(
    api: BotApiDouble, edit_digest: EditDigest, tmp_path: Path
) -> None:
    long_digest = long_summary_digest(edit_digest)
    async with polling(api, settings_for(api, tmp_path / "state.sqlite3"), long_digest):
        parts = await converse(api, USER, "/summary", replies=3)
        [help_message] = await converse(api, USER, "/help")  # and no fourth part before it
    assert help_message.visible_text.startswith("Story Brief")
    assert all(len(part.visible_text) <= 4096 for part in parts)
    # Cut at the blank line before the key points, then between two key points.
    assert parts[0].visible_text.startswith("US Homeland Security Chief")
    assert parts[1].visible_text.startswith("Key points\n•")
    assert parts[2].visible_text.startswith("• China agreed")
    assert parts[2].visible_text.endswith("[¶ 7, 8]")


async def test_a_reply_under_flood_control_is_sent_after_retry_after(
    api: BotApiDouble, digest: Digest, tmp_path: Path
) -> None:
    api.inject(Fault(method="sendMessage", chat_id=USER, status=429, retry_after=1))
    async with polling(api, settings_for(api, tmp_path / "state.sqlite3"), digest):
        [figures] = await converse(api, USER, "/figures")
    assert figures.visible_text.startswith("Figures")
    refused, sent = api.calls_to("sendMessage")[-2:]
    assert (refused.response_status, sent.response_status) == (429, 200)
    assert sent.time - refused.time >= 1.0


async def test_a_long_reply_under_flood_control_waits_once_not_before_every_part(
    api: BotApiDouble, edit_digest: EditDigest, tmp_path: Path
) -> None:
    long_digest = long_summary_digest(edit_digest)
    api.inject(Fault(method="sendMessage", chat_id=USER, status=429, retry_after=1))
    async with polling(api, settings_for(api, tmp_path / "state.sqlite3"), long_digest):
        parts = await converse(api, USER, "/summary", replies=3)
    assert parts[0].visible_text.startswith("US Homeland Security Chief")
    refused, *sent = api.calls_to("sendMessage")
    assert [call.response_status for call in [refused, *sent]] == [429, 200, 200, 200]
    assert sent[0].time - refused.time >= 1.0  # retry_after is obeyed ...
    assert sent[-1].time - sent[0].time < 1.0  # ... once: the other parts follow at once


@pytest.mark.usefixtures("bot")
async def test_questions_are_answered_from_the_article_with_their_paragraph(
    api: BotApiDouble, digest: Digest
) -> None:
    [answer] = await converse(api, USER, "What is Megaports?")
    assert "From the article:" in answer.visible_text
    assert "The plan, called the Megaports Initiative, is meant to spot" in answer.visible_text
    assert "[¶ 8]" in answer.visible_text
    before = len(api.messages(USER))
    api.press_button(USER, answer.message_id, answer.callback_data("¶ 8"))
    [paragraph] = (await api.wait_for_messages_async(USER, before + 1))[before:]
    assert paragraph.visible_text.startswith("Paragraph 8 of 11")

    [asked] = await converse(api, USER, "/ask why hasn't China taken them back?")
    assert "China has thus far refused to repatriate them" in asked.visible_text

    [honest] = await converse(api, USER, "who won the world cup?")
    assert honest.visible_text.startswith("The article does not say.")
    assert next(b["text"] for b in honest.buttons()) == "📰 Summary"

    [hello] = await converse(api, USER, "hi there")
    assert hello.visible_text.startswith("Hello!")
    assert not hello.buttons()

    [usage] = await converse(api, USER, "/ask")
    assert usage.visible_text.startswith("Ask me a question about the story")


@pytest.mark.usefixtures("bot")
async def test_in_groups_questions_need_a_reply_a_mention_or_ask(api: BotApiDouble) -> None:
    group = "supergroup"
    [summary] = await converse(api, GROUP, "/summary", chat_type=group)
    api.send_text(GROUP, "how many migrants?", chat_type=group)  # chatter: not for the bot
    [mentioned] = await converse(api, GROUP, "@StoryBriefBot how many migrants?", chat_type=group)
    assert mentioned.visible_text.startswith("about 39,000")
    before = len(api.messages(GROUP))
    api.send_text(
        GROUP, "what is megaports", chat_type=group, reply_to_bot_message_id=summary.message_id
    )
    [replied] = (await api.wait_for_messages_async(GROUP, before + 1))[before:]
    assert "Megaports Initiative" in replied.visible_text
    [asked] = await converse(api, GROUP, "/ask@StoryBriefBot who is chertoff", chat_type=group)
    assert "Chertoff" in asked.visible_text
    assert len(api.messages(GROUP)) == 4  # the chatter got nothing


@pytest.mark.usefixtures("bot")
async def test_every_section_offers_its_cited_paragraphs(api: BotApiDouble, digest: Digest) -> None:
    [quotes] = await converse(api, USER, "/quotes")
    labels = [button["text"] for button in quotes.buttons()]
    cited = sorted({n for q in digest.document.quotes + digest.document.statements for n in q.cite})
    # Then the Share button, on a row of its own (sharing is inline mode's).
    assert labels == [*(f"¶ {n}" for n in cited), "↗️ Share"]
    assert quotes.buttons()[-1]["switch_inline_query"] == "quotes"
    [summary] = await converse(api, USER, "/summary")
    assert "¶ 1" in [button["text"] for button in summary.buttons()]


@pytest.mark.usefixtures("bot")
async def test_non_text_messages_and_odd_paragraph_numbers(api: BotApiDouble) -> None:
    api.push_update(
        {
            "message": {
                "message_id": 77,
                "date": 0,
                "chat": {"id": USER, "type": "private", "first_name": "A"},
                "from": {"id": USER, "is_bot": False, "first_name": "A"},
                "sticker": {
                    "file_id": "x",
                    "file_unique_id": "y",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            }
        }
    )
    [reply] = await api.wait_for_messages_async(USER, 1)
    assert reply.visible_text.startswith("I can only read text.")
    [odd] = await converse(api, USER, "/source 1.5")
    assert odd.visible_text.startswith("There is no paragraph “1.5”")
