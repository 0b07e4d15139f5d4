"""Updates of any odd shape that Telegram's types still accept, posted to the webhook of a
running bot and handled: every one is answered 200 or 4xx, and handling them logs no error
and no traceback, and sends nothing the Bot API would refuse (the double checks each call).

Hypothesis draws the updates: messages, edits and channel posts in any kind of chat, from
any user or none, with any text (commands with any argument among it) and any entities;
button presses with any data, on a message or on none; inline queries with any text and
offset. The admin is among the users now and then.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest import Digest
from bot.web import SECRET_HEADER, backlog
from tests.botapi import BotApiDouble
from tests.e2e import ADMIN
from tests.e2e.webhooks import SECRET, webhook_bot

EXAMPLES = 400
COMMANDS = (
    "start",
    "help",
    "summary",
    "quotes",
    "figures",
    "people",
    "timeline",
    "source",
    "subscribe",
    "unsubscribe",
    "status",
    "reload",
    "rollback",
    "unanswered",
    "changes",
)

_message_ids = itertools.count(1)
_query_ids = itertools.count(1)

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)
commands = st.builds(
    lambda name, at, argument: f"/{name}{at} {argument}".rstrip(),
    st.sampled_from(COMMANDS),
    # Addressed to no bot, to this one (the double's is @StoryBriefBot), or to another.
    st.sampled_from(["", "", "", "@StoryBriefBot", "@storybriefbot", "@SomeOtherBot"]),
    st.one_of(texts, st.integers().map(str), st.just("silent")),
)
users = st.fixed_dictionaries(
    {
        "id": st.sampled_from([ADMIN, 0, 0, 0]).flatmap(
            lambda admin: st.just(admin) if admin else st.integers(min_value=1, max_value=2**40)
        ),
        "is_bot": st.booleans(),
        "first_name": st.text(max_size=20),
    },
    optional={
        "language_code": st.sampled_from(["en", "de", "pt-br", "", "xx"]),
        "username": st.text(max_size=20),
    },
)
private_chats = st.builds(
    lambda user_id: {"id": user_id, "type": "private", "first_name": "Someone"},
    st.sampled_from([ADMIN, 0, 0, 0]).flatmap(
        lambda admin: st.just(admin) if admin else st.integers(min_value=1, max_value=2**40)
    ),
)
other_chats = st.builds(
    lambda chat_id, kind, title: {"id": chat_id, "type": kind, "title": title},
    st.integers(min_value=-(2**52), max_value=-1),
    st.sampled_from(["group", "supergroup", "channel"]),
    st.text(max_size=20),
)
entities = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bot_command", "mention", "bold", "url", "text_link"]),
            "offset": st.integers(min_value=0, max_value=320),
            "length": st.integers(min_value=1, max_value=320),
        },
        optional={"url": st.just("https://example.org/")},
    ),
    max_size=3,
)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": draw(st.integers(min_value=0, max_value=2**31)),
        "chat": draw(st.one_of(private_chats, other_chats)),
    }
    if draw(st.booleans()):
        message["from"] = draw(users)
    if draw(st.integers(min_value=0, max_value=5)):
        text = message["text"] = draw(st.one_of(commands, commands, texts))
        message["entities"] = draw(entities)
        if text.startswith("/") and draw(st.integers(min_value=0, max_value=4)):
            # As Telegram marks a command: without it, no command handler would see it.
            command = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            message["entities"] = [command, *message["entities"]]
    else:
        message["caption"] = draw(texts)  # a photo's caption, say: no text at all
    if draw(st.booleans()):
        message["edit_date"] = message["date"] + 1
    return message


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["message"] * 4 + ["edited_message", "channel_post", "callback_query", "inline_query"]
        )
    )
    if kind == "callback_query":
        query: dict[str, Any] = {
            "id": f"odd-{next(_query_ids)}",
            "from": draw(users),
            "chat_instance": "1",
        }
        if draw(st.booleans()):
            query["data"] = draw(st.text(max_size=80))
        if draw(st.booleans()):
            query["message"] = draw(messages())
        else:
            query["inline_message_id"] = draw(st.text(min_size=1, max_size=20))
        return {"callback_query": query}
    if kind == "inline_query":
        return {
            "inline_query": {
                "from": draw(users),
                "query": draw(st.one_of(texts, st.integers().map(str))),
                "offset": draw(st.one_of(st.just(""), st.text(max_size=10))),
            }
        }
    return {kind: draw(messages())}


def post_all(api: BotApiDouble, base_url: str, statuses: Counter[int]) -> None:
    """Draw :data:`EXAMPLES` updates and post each with the secret, as Telegram would."""
    update_ids = itertools.count(1)
    with httpx.Client(base_url=base_url, timeout=10) as client:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(updates())
        def post(update: dict[str, Any]) -> None:
            if "inline_query" in update:
                # The double answers only the inline queries it issued, as Telegram does.
                user_id = update["inline_query"]["from"]["id"]
                update["inline_query"]["id"] = api.send_inline_query(user_id, "")
            elif "callback_query" in update:
                api.push_update(update)  # issued by the double: the bot may answer it
            response = client.post(
                "/telegram",
                json={"update_id": next(update_ids), **update},
                headers={SECRET_HEADER: SECRET},
            )
            statuses[response.status_code] += 1
            assert response.status_code == 200 or 400 <= response.status_code < 500

        post()


async def test_odd_updates_at_the_webhook_are_handled_without_an_error(
    api: BotApiDouble, tmp_path: Path, digest: Digest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    statuses: Counter[int] = Counter()
    async with webhook_bot(api, tmp_path, digest, admin_ids=frozenset({ADMIN})) as bot:
        # Hypothesis runs in a thread of its own, posting over real HTTP while this loop
        # serves the webhook and handles what it took.
        await asyncio.to_thread(post_all, api, str(bot.client.base_url), statuses)
        deadline = time.monotonic() + 60
        while backlog(bot.application):
            assert time.monotonic() < deadline, "the bot did not finish the updates"
            await asyncio.sleep(0.05)

    errors = [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
    assert errors == []
    assert statuses[200] > EXAMPLES / 2  # most drawn updates were taken and handled
    print(
        f"\nOdd updates: {sum(statuses.values())} posted, answered "
        + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
        + f"; {len(api.calls_to('sendMessage'))} messages and"
        f" {len(api.calls_to('answerCallbackQuery'))} button answers sent, none refused"
    )
