"""Input nobody meant to send: any text, any digest bytes, any JSON, forged buttons, and
admin commands arriving as edits, channel posts or forwards."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import markupsafe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import SEEDS_DIR
from bot.chat.app import build_application
from bot.chat.context import BriefApplication
from bot.config import Settings
from bot.digest import Digest, inspect_texts
from bot.markup import MAX_MESSAGE_LENGTH, problems, split_message, visible_length, visible_text
from bot.render import Renderer
from bot.web import SECRET_HEADER, create_web_app
from tests.botapi import BotApiDouble
from tests.conftest import ARTICLE_NAME, EditDigest
from tests.e2e import ADMIN, settings_for

ARTICLE = (SEEDS_DIR / ARTICLE_NAME).read_text(encoding="utf-8")
SECRET = "hostile-input-secret"
JSON_HEADERS = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
_ids = itertools.count(1)

any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6000)


# -- text through escaping and the splitter ---------------------------------------------


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_any_text_escaped_and_split_is_valid_telegram_html_and_loses_nothing(text: str) -> None:
    escaped = str(markupsafe.escape(text))
    if not visible_text(escaped).strip():
        return
    parts = split_message(escaped)
    for part in parts:
        assert problems(part) == []
        assert visible_length(part) <= MAX_MESSAGE_LENGTH
    joined = "".join(visible_text(part) for part in parts)
    assert "".join(joined.split()) == "".join(text.split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_any_question_renders_as_valid_replies(question: str) -> None:
    # What a user typed reaches templates that quote it back.
    renderer = Renderer()
    for name, context in [
        ("unknown_command.html", {"command": question[:200]}),
        ("no_such_paragraph.html", {"requested": question}),
    ]:
        digest_context = {"brief": _digest().document, "article": _digest().article}
        for part in renderer.messages(name, **digest_context, **context):
            assert problems(part) == []


_loaded: list[Digest] = []


def _digest() -> Digest:
    if not _loaded:
        from bot.digest import load_digest

        _loaded.append(load_digest(SEEDS_DIR / "digest.yaml"))
    return _loaded[0]


# -- any bytes as a digest --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_digest_give_located_problems_or_a_digest(raw: bytes) -> None:
    digest, found = inspect_texts(Path("/digest/digest.yaml"), raw, ARTICLE)
    assert digest is not None or found
    for problem in found:
        assert problem.line >= 1 and problem.rule and problem.detail


yaml_words = st.sampled_from(
    [
        "title:",
        "summary:",
        "quotes:",
        "- ",
        "  ",
        "cite: [1]",
        "text: x",
        "\n",
        ": ",
        "[",
        "]",
        "{",
        "}",
        "'",
        '"',
        "&a ",
        "*a",
        "!!python/object ",
        "---\n",
        "? ",
        "|\n",
        ">-\n",
        "#",
        "\t",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(yaml_words, max_size=60))
def test_yaml_shaped_garbage_gives_problems_never_an_exception(words: list[str]) -> None:
    digest, found = inspect_texts(Path("/digest/digest.yaml"), "".join(words).encode(), ARTICLE)
    assert digest is not None or found


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (billion_laughs(), "anchors and aliases"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than"),
        ("a:\n" + "".join("  " * n + "- \n" for n in range(1, 200)), "nested more than"),
    ],
)
def test_a_yaml_bomb_is_refused_at_once(text: str, detail: str) -> None:
    started = time.process_time()
    digest, found = inspect_texts(Path("/digest/digest.yaml"), text.encode(), ARTICLE)
    took = time.process_time() - started
    assert digest is None
    assert [problem.rule for problem in found] == ["yaml-syntax"]
    assert detail in found[0].detail
    print(f"\nYAML bomb of {len(text):,} characters ({detail}): refused in {took * 1000:.1f} ms")
    # Refused before anything is built: a hang would take minutes (a bound, not a budget).
    assert took < 5


# -- any JSON at the webhook ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
update_like = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=1, max_value=2**31)},
    optional={
        "message": st.dictionaries(
            st.sampled_from(["message_id", "date", "chat", "from", "text", "entities"]),
            json_values,
            max_size=6,
        ),
        "callback_query": json_values,
        "inline_query": json_values,
        "edited_message": json_values,
    },
)


@pytest.fixture
def webhook_app(tmp_path: Path) -> Iterator[BriefApplication]:
    with BotApiDouble() as api:
        yield build_application(
            settings_for(
                api,
                tmp_path / "state.sqlite3",
                mode="webhook",
                webhook_url="http://127.0.0.1:1/telegram",
                webhook_secret=SECRET,
            )
        )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(update_like, json_values))
async def test_any_json_at_the_webhook_is_200_or_4xx(
    webhook_app: BriefApplication, body: Any
) -> None:
    settings_: Settings = webhook_app.bot_data.settings
    transport = httpx.ASGITransport(app=create_web_app(webhook_app, settings_))
    async with httpx.AsyncClient(transport=transport, base_url="http://hook.test") as client:
        response = await client.post("/telegram", content=json.dumps(body), headers=JSON_HEADERS)
    assert response.status_code == 200 or 400 <= response.status_code < 500
    while not webhook_app.update_queue.empty():  # taken, never handled: the bot is not running
        webhook_app.update_queue.get_nowait()


async def test_wrong_content_and_sizes_at_the_webhook_are_refused(
    webhook_app: BriefApplication,
) -> None:
    settings_: Settings = webhook_app.bot_data.settings
    transport = httpx.ASGITransport(app=create_web_app(webhook_app, settings_))
    update = json.dumps({"update_id": 1, "message": {"text": "hi"}})
    async with httpx.AsyncClient(transport=transport, base_url="http://hook.test") as client:

        async def post(content: str | bytes, content_type: str | None) -> int:
            headers = {SECRET_HEADER: SECRET}
            if content_type is not None:
                headers["Content-Type"] = content_type
            return (await client.post("/telegram", content=content, headers=headers)).status_code

        # Telegram declares its JSON: anything else is refused before a byte is read.
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
            assert await post(update, content_type) == 415, content_type
        assert await post(b"\xff\xfe", "application/json") == 400
        assert await post(b"{", "application/json; charset=utf-8") == 400
        big = b'{"update_id": 1, "x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
        assert await post(big, "application/json") == 413
    assert webhook_app.update_queue.empty()


# -- forged buttons and admin commands that are not the admin asking now -----------------


FORGED = [
    "",
    "section:",
    "section:secrets",
    "paragraph:",
    "paragraph:-1",
    "paragraph:99999999999999999999",
    "paragraph:1; DROP TABLE subscriptions",
    "reload",
    "x" * 64,
    "é" * 32,
    "y" * 65,  # longer than Telegram allows (64 bytes): only a forged update carries it
    "é" * 40,
    "changes:1",
]


async def test_forged_callback_data_is_answered_and_changes_nothing(
    api: BotApiDouble, bot: BriefApplication
) -> None:
    version = bot.bot_data.library.version.id
    [welcome] = await converse_private(api, ADMIN + 1, "/start")
    queries = [
        api.press_button(ADMIN + 1, welcome.message_id, data, check=False) for data in FORGED
    ]
    await api.wait_for_async(lambda double: set(queries) <= double.answered_callbacks)
    assert bot.bot_data.library.version.id == version
    assert await bot.bot_data.store.subscriptions.subscription(ADMIN + 1) is None


async def converse_private(api: BotApiDouble, chat: int, text: str) -> list[Any]:
    before = len(api.messages(chat))
    api.send_text(chat, text)
    return (await api.wait_for_messages_async(chat, before + 1))[before:]


def admin_message(text: str, **extra: Any) -> dict[str, Any]:
    user = {"id": ADMIN, "is_bot": False, "first_name": "Admin"}
    message = {
        "message_id": 10_000 + next(_ids),
        "date": int(time.time()),
        "chat": {"id": ADMIN, "type": "private", "first_name": "Admin"},
        "from": user,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }
    return message | extra


async def test_admin_commands_run_only_as_the_admins_new_message(
    api: BotApiDouble, bot: BriefApplication, edit_digest: EditDigest
) -> None:
    edit_digest("    context: Continuing the same remarks.", "    context: Still speaking.")
    version = bot.bot_data.library.version.id
    edited = admin_message("/reload", edit_date=int(time.time()))
    api.push_update({"edited_message": edited})
    forwarded = admin_message(
        "/reload",
        forward_origin={
            "type": "user",
            "date": int(time.time()) - 60,
            "sender_user": edited["from"],
        },
    )
    api.push_update({"message": forwarded})
    [refused] = await api.wait_for_messages_async(ADMIN, 1)
    assert refused.visible_text.startswith("A forwarded /reload is not run")
    channel = {
        "message_id": 20_000,
        "date": int(time.time()),
        "chat": {"id": -100900, "type": "channel", "title": "News"},
        "sender_chat": {"id": -100900, "type": "channel", "title": "News"},
        "text": "/reload",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
    }
    api.push_update({"channel_post": channel})
    # Then the admin asks for real: only this one publishes.
    [published] = await converse_private(api, ADMIN, "/reload")
    assert "Published version" in published.visible_text
    assert bot.bot_data.library.version.id == version + 1
    assert not api.messages(-100900)
