"""Tests of the Bot API test double itself, through real HTTP with python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.warnings import PTBUserWarning

from tests.botapi import (
    BotApiDouble,
    BotApiSpec,
    Fault,
    HtmlProblem,
    UploadedFile,
    parse_telegram_html,
    validate_telegram_html,
    visible_length,
    visible_text,
)

TOKEN = "123456:TEST-TOKEN"
CHAT = 1001
OTHER_CHAT = 1002
GROUP = -100123


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(double: BotApiDouble) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=double.base_url) as client:
        yield client


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=label.lower())] for label in labels]
    )


async def edit_html(bot: Bot, message_id: int, text: str, *labels: str) -> Message | bool:
    """editMessageText of a message in :data:`CHAT`, in HTML, with a keyboard of ``labels``."""
    return await bot.edit_message_text(
        text, chat_id=CHAT, message_id=message_id, parse_mode="HTML", reply_markup=keyboard(*labels)
    )


def api_url(double: BotApiDouble, method: str, token: str = TOKEN) -> str:
    return f"{double.base_url}{token}/{method}"


# -- PTB as the client ---------------------------------------------------------------------


async def test_get_me(double: BotApiDouble, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.username == "StoryBriefBot"
    assert me.is_bot
    assert [call.method for call in double.calls] == ["getMe", "getMe"]  # initialize + ours
    assert all(call.response_status == 200 for call in double.calls)
    assert double.violations == []


async def test_send_message_with_inline_keyboard(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(
        CHAT,
        "<b>Headline</b> &amp; more 😀 <i>now</i>",
        parse_mode="HTML",
        reply_markup=keyboard("Summary", "Quotes"),
    )
    assert sent.text == "Headline & more 😀 now"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 8),
        ("italic", 19, 3),
    ]
    assert sent.chat.id == CHAT
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.reply_markup == keyboard("Summary", "Quotes")

    call = double.calls[-1]
    # PTB posts form fields: scalars as plain strings, nested values as JSON strings;
    # the double decodes them by the spec's types.
    assert call.params["chat_id"] == CHAT
    assert call.params["text"] == "<b>Headline</b> &amp; more 😀 <i>now</i>"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Summary", "callback_data": "summary"}],
            [{"text": "Quotes", "callback_data": "quotes"}],
        ]
    }
    [message] = double.messages(CHAT)
    assert message.message_id == sent.message_id
    assert message.text == "<b>Headline</b> &amp; more 😀 <i>now</i>"
    assert message.visible_text == "Headline & more 😀 now"
    assert message.reply_markup == call.params["reply_markup"]
    assert message.edits == 0
    assert message.callback_data("Quotes") == "quotes"
    assert double.messages(OTHER_CHAT) == []
    assert double.violations == []


async def test_message_ids_are_per_chat_and_shared_with_user_messages(
    double: BotApiDouble, bot: Bot
) -> None:
    double.send_text(CHAT, "hello")
    first = await bot.send_message(CHAT, "one", parse_mode="HTML")
    other = await bot.send_message(OTHER_CHAT, "two", parse_mode="HTML")
    assert first.message_id == 2
    assert other.message_id == 1


async def test_edit_message_text(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "v1", parse_mode="HTML", reply_markup=keyboard("A"))
    edited = await edit_html(bot, sent.message_id, "<b>v2</b>", "B")
    assert isinstance(edited, type(sent))
    assert edited.text == "v2"
    assert edited.edit_date is not None
    [message] = double.messages(CHAT)
    assert message.text == "<b>v2</b>"
    assert message.edits == 1
    assert message.callback_data("B") == "b"

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await edit_html(bot, sent.message_id, "<b>v2</b>", "B")
    # Leaving out reply_markup removes the keyboard, as on Telegram: that is a change.
    await bot.edit_message_text(
        "<b>v2</b>", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML"
    )
    assert double.messages(CHAT)[0].reply_markup is None
    assert double.messages(CHAT)[0].edits == 2

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=99, parse_mode="HTML")
    assert double.violations == []


async def test_callback_query_round_trip(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Pick", parse_mode="HTML", reply_markup=keyboard("Go"))
    query_id = double.press_button(CHAT, sent.message_id, "go")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "go"
    assert query.from_user.id == CHAT
    assert query.chat_instance
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert double.unanswered_callbacks() == {query_id}

    assert await bot.answer_callback_query(query_id, text="Done")
    assert double.answered_callbacks == {query_id}
    assert double.callback_answers[query_id]["text"] == "Done"
    assert double.unanswered_callbacks() == set()
    assert double.violations == []

    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert double.violations == [f"answerCallbackQuery: callback query {query_id} answered twice"]


async def test_callback_query_carries_the_message_as_edited(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "old", parse_mode="HTML", reply_markup=keyboard("Go"))
    await edit_html(bot, sent.message_id, "new", "Go")
    double.press_button(CHAT, sent.message_id, "go")
    [update] = await bot.get_updates()
    assert update.callback_query is not None
    message = update.callback_query.message
    assert message is not None
    assert getattr(message, "text", None) == "new"


async def test_unknown_callback_query_is_too_old_but_no_violation(
    double: BotApiDouble, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("999")
    assert double.violations == []


def test_press_button_checks_the_button_exists(double: BotApiDouble) -> None:
    with pytest.raises(AssertionError, match="no bot message"):
        double.press_button(CHAT, 1, "x")


async def test_press_button_unknown_data(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Pick", parse_mode="HTML", reply_markup=keyboard("Go"))
    with pytest.raises(AssertionError, match=r"has no button.*\['go'\]"):
        double.press_button(CHAT, sent.message_id, "stop")


async def test_my_commands_per_scope(double: BotApiDouble, bot: Bot) -> None:
    commands = [BotCommand("start", "Start here"), BotCommand("help", "What I do")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands([BotCommand("reload", "Reload")], scope=BotCommandScopeChat(7))
    assert list(await bot.get_my_commands()) == commands
    assert list(await bot.get_my_commands(scope=BotCommandScopeChat(7))) == [
        BotCommand("reload", "Reload")
    ]
    assert double.commands() == [
        {"command": "start", "description": "Start here"},
        {"command": "help", "description": "What I do"},
    ]
    assert double.commands({"type": "chat", "chat_id": 7})[0]["command"] == "reload"
    assert await bot.delete_my_commands()
    assert list(await bot.get_my_commands()) == []
    assert double.violations == []


async def test_set_my_commands_rules(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)command must be"):
        await bot.set_my_commands([BotCommand("Start!", "Start")])
    with pytest.raises(BadRequest, match=r"(?i)1-100 commands"):
        await bot.set_my_commands([BotCommand(f"c{i}", "x") for i in range(101)])
    with pytest.raises(BadRequest, match=r"(?i)description must be"):
        await bot.set_my_commands([BotCommand("start", "x" * 257)])
    assert len(double.violations) == 3
    assert all(v.startswith("setMyCommands: ") for v in double.violations)


async def test_send_chat_action(double: BotApiDouble, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(CHAT, "dancing")
    assert double.violations == ["sendChatAction: unknown chat action 'dancing'"]


async def test_close_log_out_delete_webhook(double: BotApiDouble, bot: Bot) -> None:
    assert await bot.delete_webhook()
    assert await bot.close()
    assert await bot.log_out()
    assert double.violations == []


# -- getUpdates ---------------------------------------------------------------------------


async def test_user_message_update_shape(double: BotApiDouble, bot: Bot) -> None:
    update_id = double.send_text(CHAT, "/source 3", first_name="Bob")
    [update] = await bot.get_updates()
    assert update.update_id == update_id
    message = update.message
    assert message is not None
    assert message.text == "/source 3"
    assert message.chat.type == "private"
    assert message.chat.first_name == "Bob"
    assert message.from_user is not None
    assert message.from_user.id == CHAT
    assert not message.from_user.is_bot
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 7)]


async def test_group_command_with_bot_name(double: BotApiDouble, bot: Bot) -> None:
    double.send_text(GROUP, "/summary@StoryBriefBot now", chat_type="supergroup", user_id=77)
    double.send_text(GROUP, "just chatting", chat_type="supergroup", user_id=77)
    first, second = await bot.get_updates()
    assert first.message is not None
    assert first.message.chat.type == "supergroup"
    assert first.message.chat.title
    assert first.message.from_user is not None
    assert first.message.from_user.id == 77
    assert first.message.entities[0].length == len("/summary@StoryBriefBot")
    assert second.message is not None
    assert second.message.entities == ()


async def test_reply_to_bot_message(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "<b>Question?</b>", parse_mode="HTML")
    double.send_text(CHAT, "answer", reply_to_bot_message_id=sent.message_id)
    [update] = await bot.get_updates()
    assert update.message is not None
    reply_to = update.message.reply_to_message
    assert reply_to is not None
    assert reply_to.message_id == sent.message_id
    assert reply_to.text == "Question?"


async def test_offset_confirms_updates_forever(double: BotApiDouble, bot: Bot) -> None:
    ids = [double.send_text(CHAT, f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates()] == ids[1:]  # ids[0] is gone
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert await bot.get_updates() == ()
    assert double.pending_updates() == 0
    newer = double.send_text(CHAT, "later")
    assert [u.update_id for u in await bot.get_updates(offset=0)] == [newer]


async def test_limit_and_negative_offset(double: BotApiDouble, bot: Bot) -> None:
    ids = [double.send_text(CHAT, f"m{i}") for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[3:]
    assert double.pending_updates() == 2


async def test_long_poll_returns_promptly_on_new_update(double: BotApiDouble, bot: Bot) -> None:
    timer = threading.Timer(0.3, double.send_text, args=(CHAT, "wake up"))
    start = time.monotonic()
    timer.start()
    try:
        updates = await bot.get_updates(timeout=5)
    finally:
        timer.join()
    elapsed = time.monotonic() - start
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    assert 0.25 <= elapsed < 2.0


async def test_long_poll_times_out_empty(double: BotApiDouble, bot: Bot) -> None:
    start = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - start < 3.0


async def test_push_update_raw(double: BotApiDouble, bot: Bot) -> None:
    update_id = double.push_update(
        {
            "update_id": 1,
            "my_chat_member": {
                "chat": {"id": CHAT, "type": "private", "first_name": "Alice"},
                "from": {"id": CHAT, "is_bot": False, "first_name": "Alice"},
                "date": 1,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 123456, "is_bot": True, "first_name": "Story Brief"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 123456, "is_bot": True, "first_name": "Story Brief"},
                },
            },
        }
    )
    assert update_id != 1
    [update] = await bot.get_updates()
    assert update.update_id == update_id
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


def test_concurrent_get_updates_conflict(double: BotApiDouble) -> None:
    url = api_url(double, "getUpdates")
    results: list[httpx.Response] = []

    def long_poll() -> None:
        with httpx.Client() as client:
            results.append(client.post(url, data={"timeout": "5"}, timeout=10))

    poller = threading.Thread(target=long_poll)
    poller.start()
    double.wait_for(lambda d: d._poll_generation == 1, timeout=5)
    with httpx.Client() as client:
        second = client.post(url, data={"timeout": "0"}, timeout=10)
    poller.join(timeout=5)
    assert second.json() == {"ok": True, "result": []}
    assert results[0].status_code == 409
    assert "terminated by other getUpdates request" in results[0].json()["description"]


# -- faults -------------------------------------------------------------------------------


async def test_fault_429_retry_after(
    double: BotApiDouble, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else PTB warns on RetryAfter.retry_after
    double.inject(Fault(method="sendMessage", status=429, retry_after=3))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hi", parse_mode="HTML")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    assert double.calls[-1].response_status == 429
    assert double.calls[-1].description == "Too Many Requests: retry after 3"
    await bot.send_message(CHAT, "hi", parse_mode="HTML")  # times=1: the next one passes
    assert len(double.messages(CHAT)) == 1


async def test_fault_403_blocked_for_one_chat_forever(double: BotApiDouble, bot: Bot) -> None:
    double.inject(Fault(chat_id=CHAT, status=403, times=-1))
    for _ in range(3):
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(CHAT, "hi", parse_mode="HTML")
    await bot.send_message(OTHER_CHAT, "hi", parse_mode="HTML")
    assert double.messages(CHAT) == []
    assert len(double.messages(OTHER_CHAT)) == 1
    double.clear_faults()
    await bot.send_message(CHAT, "hi", parse_mode="HTML")
    assert double.violations == []


async def test_fault_400_chat_not_found(double: BotApiDouble, bot: Bot) -> None:
    double.inject(Fault(method="sendMessage", status=400, times=2))
    for _ in range(2):
        with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
            await bot.send_message(CHAT, "hi", parse_mode="HTML")
    await bot.send_message(CHAT, "hi", parse_mode="HTML")


async def test_fault_502_json_and_raw(double: BotApiDouble, bot: Bot) -> None:
    double.inject(Fault(method="sendMessage", status=502))
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(CHAT, "hi", parse_mode="HTML")
    double.inject(
        Fault(method="sendMessage", status=502, raw_body=b"<html><h1>502 Bad Gateway</h1></html>")
    )
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(CHAT, "hi", parse_mode="HTML")
    assert [call.response_status for call in double.calls_to("sendMessage")] == [502, 502]


async def test_fault_delay_slow_then_ok(double: BotApiDouble, bot: Bot) -> None:
    double.inject(Fault(method="sendMessage", status=200, delay=0.4))
    start = time.monotonic()
    await bot.send_message(CHAT, "slow", parse_mode="HTML")
    assert time.monotonic() - start >= 0.4
    assert len(double.messages(CHAT)) == 1


async def test_fault_delay_beyond_read_timeout(double: BotApiDouble, bot: Bot) -> None:
    double.inject(Fault(method="sendMessage", status=200, delay=1.0))
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "slow", parse_mode="HTML", read_timeout=0.2)


async def test_latency(double: BotApiDouble, bot: Bot) -> None:
    double.latency = 0.2
    start = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - start >= 0.2


# -- violations ---------------------------------------------------------------------------


async def test_text_without_parse_mode_is_a_violation(double: BotApiDouble, bot: Bot) -> None:
    await bot.send_message(CHAT, "plain")
    assert double.violations == ["sendMessage: text sent without parse_mode HTML"]
    assert len(double.messages(CHAT)) == 1  # Telegram itself accepts it


async def test_bad_html_is_rejected(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "br"'):
        await bot.send_message(CHAT, "line<br>line", parse_mode="HTML")
    assert double.violations == [
        'sendMessage: can\'t parse entities: Unsupported start tag "br" at byte offset 4'
    ]
    assert double.messages(CHAT) == []


async def test_too_long_and_empty(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(CHAT, "x" * 4097, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert len(double.violations) == 2


async def post_as_is(bot: Bot, **changes: object) -> None:
    """A sendMessage of "x" to CHAT, with ``changes`` made exactly as given (None leaves a
    parameter out): PTB's own methods would not send these mistakes, and it warns that
    sendMessage has a method of its own."""
    params = {"chat_id": CHAT, "text": "x", "parse_mode": "HTML", **changes}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Please use", PTBUserWarning)
        await bot.do_api_request(
            "sendMessage", api_kwargs={k: v for k, v in params.items() if v is not None}
        )


async def test_unknown_parameter(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unknown parameter "colour"'):
        await post_as_is(bot, colour="red")
    assert double.violations == ['sendMessage: unknown parameter "colour"']


async def test_missing_required_parameter(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)missing required parameter "text"'):
        await post_as_is(bot, text=None)
    assert double.violations == ['sendMessage: missing required parameter "text"']


async def test_wrong_value_type(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)disable_notification must be Boolean"):
        await post_as_is(bot, disable_notification="yes")
    assert len(double.violations) == 1


async def test_inline_button_rules(double: BotApiDouble, bot: Bot) -> None:
    both = InlineKeyboardMarkup(
        [[InlineKeyboardButton("x", url="https://example.org", callback_data="x")]]
    )
    with pytest.raises(BadRequest, match=r"(?i)exactly one action field"):
        await bot.send_message(CHAT, "x", parse_mode="HTML", reply_markup=both)
    with pytest.raises(BadRequest, match=r"(?i)1-64 bytes"):
        await bot.send_message(CHAT, "x", parse_mode="HTML", reply_markup=keyboard("é" * 33))
    with pytest.raises(BadRequest, match=r"(?i)exactly one action field"):
        await post_as_is(bot, reply_markup={"inline_keyboard": [[{"text": "no action"}]]})
    assert len(double.violations) == 3
    assert double.messages(CHAT) == []


async def test_method_of_the_spec_not_implemented(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)not implemented by the test double: getChat"):
        await bot.get_chat(CHAT)
    assert double.calls[-1].method == "getChat"
    assert double.calls[-1].response_status == 400
    assert double.violations == []


async def test_multipart_upload_is_parsed(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_document(CHAT, document=b"hello", filename="a.txt", caption="c")
    assert sent.document is not None and sent.document.file_name == "a.txt"
    assert double.documents_sent == [(CHAT, "a.txt", b"hello")]
    call = double.calls[-1]
    assert call.method == "sendDocument"
    assert call.params["chat_id"] == CHAT
    assert call.params["caption"] == "c"
    document = call.params["document"]
    assert isinstance(document, UploadedFile)
    assert document.filename == "a.txt"
    assert document.data == b"hello"
    assert double.violations == []


def test_unknown_method_is_404_and_a_violation(double: BotApiDouble) -> None:
    response = httpx.post(api_url(double, "sendMessages"), data={"chat_id": "1"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert double.violations == ["sendMessages: no such method in Bot API 10.1"]


def test_wrong_token_is_401_and_a_violation(double: BotApiDouble) -> None:
    response = httpx.post(api_url(double, "getMe", token="654321:OTHER-TOKEN"))
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert double.violations == ["getMe: wrong bot token in the URL"]


async def test_wrong_token_with_ptb(double: BotApiDouble) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("654321:OTHER-TOKEN", base_url=double.base_url):
            pass
    assert double.violations == ["getMe: wrong bot token in the URL"]


def test_json_body_and_query_string(double: BotApiDouble) -> None:
    with httpx.Client() as client:
        by_json = client.post(
            api_url(double, "sendMessage"),
            json={
                "chat_id": CHAT,
                "text": "<i>json</i>",
                "parse_mode": "HTML",
                "reply_markup": json.dumps(
                    {"inline_keyboard": [[{"text": "A", "url": "https://a.example"}]]}
                ),
            },
        )
        by_query = client.get(
            api_url(double, "sendMessage"),
            params={"chat_id": str(CHAT), "text": "query", "parse_mode": "HTML"},
        )
    assert by_json.json()["result"]["text"] == "json"
    assert by_query.json()["result"]["text"] == "query"
    first, second = double.messages(CHAT)
    assert first.reply_markup == {"inline_keyboard": [[{"text": "A", "url": "https://a.example"}]]}
    assert second.text == "query"
    assert double.violations == []


def test_keep_alive_and_content_length(double: BotApiDouble) -> None:
    with httpx.Client() as client:
        for _ in range(3):
            response = client.post(api_url(double, "getMe"))
            assert response.http_version == "HTTP/1.1"
            assert response.headers["content-length"] == str(len(response.content))
            assert response.headers.get("connection", "keep-alive").lower() != "close"


# -- waiting ------------------------------------------------------------------------------


def test_wait_for_timeout_dumps_calls(double: BotApiDouble) -> None:
    httpx.post(api_url(double, "getMe"))
    with pytest.raises(AssertionError, match=r"(?s)within 0\.2 s.*getMe -> 200"):
        double.wait_for(lambda d: bool(d.messages(CHAT)), timeout=0.2)


def test_wait_for_messages_from_another_thread(double: BotApiDouble) -> None:
    def send() -> None:
        time.sleep(0.1)
        for text in ("one", "two"):
            httpx.post(
                api_url(double, "sendMessage"),
                data={"chat_id": str(CHAT), "text": text, "parse_mode": "HTML"},
            )

    sender = threading.Thread(target=send)
    sender.start()
    messages = double.wait_for_messages(CHAT, 2, timeout=5)
    sender.join()
    assert [m.text for m in messages] == ["one", "two"]


def test_a_message_seen_has_its_call_recorded(double: BotApiDouble) -> None:
    """Tests wait for a message, then read ``calls``: the call must be there already."""
    stored = threading.Event()
    send_message = double._handlers["sendMessage"]

    def slow_after_storing(params: dict[str, Any]) -> Any:
        result = send_message(params)
        stored.set()
        time.sleep(0.3)  # the widest gap there could be between the store and the record
        return result

    double._handlers["sendMessage"] = slow_after_storing
    sender = threading.Thread(
        target=httpx.post,
        args=(api_url(double, "sendMessage"),),
        kwargs={"data": {"chat_id": str(CHAT), "text": "x", "parse_mode": "HTML"}},
    )
    sender.start()
    try:
        assert stored.wait(5)
        seen = double.messages(CHAT)
        recorded = double.calls_to("sendMessage")
    finally:
        sender.join()
    assert [m.text for m in seen] == ["x"]
    assert [call.params["text"] for call in recorded] == ["x"]


async def test_wait_for_messages_async(double: BotApiDouble, bot: Bot) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(CHAT, "async", parse_mode="HTML")

    task = asyncio.create_task(send_later())
    [message] = await double.wait_for_messages_async(CHAT, 1, timeout=5)
    await task
    assert message.visible_text == "async"
    with pytest.raises(AssertionError, match="condition not met"):
        await double.wait_for_async(lambda d: False, timeout=0.1)


# -- the spec -----------------------------------------------------------------------------


def test_spec_validate_directly() -> None:
    spec = BotApiSpec()
    assert spec.version == "Bot API 10.1"
    assert spec.validate("sendMessage", {"chat_id": 1, "text": "x"}) == []
    assert spec.validate("sendMessage", {"chat_id": "@channel", "text": "x"}) == []
    assert spec.validate("sendMessage", {"chat_id": 1.5, "text": "x"}) == [
        "chat_id must be Integer or String, got Float 1.5"
    ]
    assert spec.validate("sendMessage", {"chat_id": True, "text": "x"}) == [
        "chat_id must be Integer or String, got Boolean true"
    ]
    assert spec.validate("noSuchMethod", {}) == [
        'method "noSuchMethod" does not exist in Bot API 10.1'
    ]
    assert spec.validate("editMessageText", {"text": "x"}) == [
        "pass either chat_id and message_id, or inline_message_id"
    ]
    assert (
        spec.validate(
            "setMyCommands",
            {
                "commands": [{"command": "a", "description": "b"}],
                "scope": {"type": "chat", "chat_id": 5},
            },
        )
        == []
    )
    problems = spec.validate(
        "setMyCommands",
        {"commands": [{"command": "a", "description": "b"}], "scope": {"type": "chat"}},
    )
    assert problems and "chat_id" in problems[0]
    assert spec.validate("getUpdates", {"allowed_updates": ["message", 3]}) == [
        "allowed_updates[1] must be String, got Integer 3"
    ]


def test_spec_coerces_form_strings_by_type() -> None:
    spec = BotApiSpec()
    coerced = spec.coerce(
        "sendMessage",
        {
            "chat_id": "-100123",
            "text": "123",
            "disable_notification": "true",
            "reply_markup": '{"inline_keyboard": []}',
        },
    )
    assert coerced == {
        "chat_id": -100123,
        "text": "123",
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": []},
    }
    assert spec.coerce("sendMessage", {"chat_id": "@news"})["chat_id"] == "@news"


# -- HTML ---------------------------------------------------------------------------------

GOOD_HTML = [
    "plain text",
    "<b>bold</b>, <strong>bold</strong>",
    "<i>italic</i>, <em>italic</em>, <u>u</u>, <ins>ins</ins>",
    "<s>s</s>, <strike>strike</strike>, <del>del</del>",
    '<span class="tg-spoiler">spoiler</span>, <tg-spoiler>spoiler</tg-spoiler>',
    "<b>bold <i>italic bold <s>italic bold strikethrough "
    '<span class="tg-spoiler">all four</span></s> <u>underline italic bold</u></i> bold</b>',
    '<a href="http://www.example.com/">inline URL</a>',
    '<a href="tg://user?id=123456789">inline mention of a user</a>',
    "<a href='https://example.org/?a=1&amp;b=2'>single quotes, escaped ampersand</a>",
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    '<tg-time unix="1647531900" format="wDT">22:45 tomorrow</tg-time>',
    '<tg-time unix="1647531900">22:45 tomorrow</tg-time>',
    "<code>inline fixed-width code</code>",
    "<pre>pre-formatted fixed-width code block</pre>",
    '<pre><code class="language-python">print("hi")</code></pre>',
    "<blockquote>Block quotation started\nBlock quotation continued</blockquote>",
    "<blockquote expandable>Expandable block quotation</blockquote>",
    '<b><a href="https://example.org">bold link</a></b>',
    "&lt;tag&gt; &amp; &quot;quoted&quot; &#39;apostrophe&#39; &#x1F600;",
    "AT&amp;T, 2 &lt; 3, 39,000 migrants",
    "<B>Upper-case tags are accepted</B>",
    "Quotes \" and ' need no escaping",
]


@pytest.mark.parametrize("text", GOOD_HTML)
def test_valid_html(text: str) -> None:
    assert validate_telegram_html(text) == []


BAD_HTML = [
    ("line<br>line", 'Unsupported start tag "br"'),
    ("<p>paragraph</p>", 'Unsupported start tag "p"'),
    ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", 'Unmatched end tag, expected "</i>", found "</b>"'),
    ("<b>x</strong>", 'expected "</b>", found "</strong>"'),
    ("stray</b>", 'Unexpected end tag "</b>"'),
    ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;"'),
    ("&copy; 2024", 'Unsupported HTML entity "&copy;"'),
    ("1 < 2", 'Unescaped "<"'),
    ("1 > 2", 'Unescaped ">"'),
    ("AT&T", 'Unescaped "&"'),
    ("&#38", 'Unescaped "&"'),
    ("<span>x</span>", 'class="tg-spoiler"'),
    ('<span class="spoiler">x</span>', 'class="tg-spoiler"'),
    ("<a>no link</a>", '"href"'),
    ('<a href="">empty link</a>', '"href"'),
    ('<b class="x">x</b>', 'Unsupported attribute "class" in tag "b"'),
    ('<a href="x" title="y">x</a>', 'Unsupported attribute "title"'),
    ('<code class="language-python">x</code>', "standalone"),
    ('<pre><code class="python">x</code></pre>', "language-NAME"),
    ("<pre><b>x</b></pre>", 'can\'t be nested inside "pre"'),
    ("<code><i>x</i></code>", 'can\'t be nested inside "code"'),
    ('<a href="x"><a href="y">z</a></a>', "can't be nested"),
    ("<blockquote><blockquote>x</blockquote></blockquote>", "can't be nested"),
    ("<tg-emoji>x</tg-emoji>", "emoji-id"),
    ('<tg-time unix="soon">x</tg-time>', '"unix"'),
    ('<tg-time unix="1" format="x">x</tg-time>', 'Invalid "format"'),
    ("<b/>", "Self-closing"),
    ("<b", 'Unclosed start tag "b"'),
    ('<a href="x>link</a>', "Unclosed value"),
    ("&#0;", "Invalid numeric HTML entity"),
    ("&#xD800;", "Invalid numeric HTML entity"),
    ('<a href="https://x.example/?a=1&b=2">x</a>', 'Unescaped "&"'),
    ("", "message text is empty"),
    ("   \n ", "message text is empty"),
    ("<b> </b>", "message text is empty"),
    ("x" * 4097, "message is too long"),
    ("😀" * 2049, "message is too long: 4098"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_HTML)
def test_invalid_html(text: str, expected: str) -> None:
    problems = validate_telegram_html(text)
    assert problems, f"no problem found in {text!r}"
    assert any(expected in str(problem) for problem in problems), problems
    assert all(isinstance(problem, HtmlProblem) for problem in problems)


def test_html_problem_reports_byte_offset() -> None:
    [problem] = validate_telegram_html("😀 <br>")
    assert problem.detail == 'Unsupported start tag "br" at byte offset 5'
    assert problem.offset == 2
    assert str(problem) == problem.detail


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("abc", 3),
        ("é", 1),
        ("😀", 2),
        ("<b>😀</b>a", 3),
        ("&#x1F600;", 2),
        ("&lt;b&gt;", 3),
        ("  padded \n", 6),
        ("👍🏽", 4),
        ("😀" * 2048, 4096),
    ],
)
def test_visible_length_in_utf16(text: str, length: int) -> None:
    assert visible_length(text) == length


def test_length_limit_counts_visible_utf16() -> None:
    assert validate_telegram_html("😀" * 2048) == []
    assert validate_telegram_html("<b>" + "x" * 4096 + "</b>") == []
    assert validate_telegram_html("&amp;" * 4096) == []


def test_visible_text_and_entities() -> None:
    assert visible_text('  <a href="https://x.example">link</a> &amp; <b>b</b>\n') == "link & b"
    parsed = parse_telegram_html(
        '<b>a😀</b> <pre><code class="language-python">x</code></pre> '
        '<blockquote expandable>q</blockquote> <a href="https://x.example/?a=1&amp;b=2">l</a>'
    )
    assert parsed.text == "a😀 x q l"
    entities: list[dict[str, Any]] = parsed.entities
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "pre", "offset": 4, "length": 1, "language": "python"},
        {"type": "expandable_blockquote", "offset": 6, "length": 1},
        {"type": "text_link", "offset": 8, "length": 1, "url": "https://x.example/?a=1&b=2"},
    ]


async def test_ptb_application_polls_the_double(double: BotApiDouble) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id,
            "<b>Welcome</b>",
            parse_mode="HTML",
            reply_markup=keyboard("Summary"),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")

    application = ApplicationBuilder().token(TOKEN).base_url(double.base_url).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            double.send_text(CHAT, "/start")
            [welcome] = await double.wait_for_messages_async(CHAT, 1, timeout=5)
            assert welcome.visible_text == "Welcome"
            query_id = double.press_button(
                CHAT, welcome.message_id, welcome.callback_data("Summary")
            )
            await double.wait_for_async(
                lambda d: d.messages(CHAT)[0].edits == 1 and query_id in d.answered_callbacks,
                timeout=5,
            )
            assert double.messages(CHAT)[0].text == "You chose <i>summary</i>"
        finally:
            await application.updater.stop()
            await application.stop()
    assert double.pending_updates() == 0  # the last offset was confirmed on stop
    assert double.violations == []
