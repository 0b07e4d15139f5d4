"""Helpers for end-to-end tests: the real application, polling the loopback Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from bot.chat.app import build_application, running
from bot.chat.context import BriefApplication
from bot.chat.polling import Poller
from bot.config import Settings
from bot.digest import Digest
from tests.botapi import BotApiDouble, BotMessage

# The double's token: shaped like one from @BotFather (bot.config checks that), but fake.
TEST_TOKEN = "123456:TEST-TOKEN-0123456789abcdefghijklmn"
ADMIN = 7001
"""The admin's chat in the shared ``settings`` fixture (tests/e2e/conftest.py)."""

Double = TypeVar("Double", bound=BotApiDouble)


@contextmanager
def checked(double: Double) -> Iterator[Double]:
    """Run ``double``; on the way out, the bot must have kept every rule of the Bot API and
    answered every button press it was sent."""
    with double:
        yield double
        assert double.violations == []
        assert double.unanswered_callbacks() == set()


def settings_for(api: BotApiDouble, database: Path, **overrides: object) -> Settings:
    """Settings pointing the bot at ``api`` and nowhere else, its state in ``database``."""
    values: dict[str, object] = {
        "token": SecretStr(TEST_TOKEN),
        "api_base_url": api.base_url,
        "database_url": f"sqlite+aiosqlite:///{database}",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@asynccontextmanager
async def polling(
    api: BotApiDouble,
    settings: Settings,
    digest: Digest | None = None,
    configure: Callable[[BriefApplication], None] | None = None,
) -> AsyncIterator[BriefApplication]:
    """Run the application as ``run_polling`` would, inside the test's event loop;
    ``configure``, if given, may adjust the application before it starts."""
    application = build_application(settings, digest=digest)
    if configure is not None:
        configure(application)
    async with running(application):
        poller = Poller(
            application.bot,
            application.update_queue,
            timeout=1,
            answers=application.bot_data.updates_request,
        )
        await poller.start()
        try:
            yield application
        finally:
            await poller.stop()


async def converse(
    api: BotApiDouble, chat_id: int, text: str, *, replies: int = 1, chat_type: str = "private"
) -> list[BotMessage]:
    """Send ``text`` as a user and wait for the bot's next ``replies`` messages in that chat."""
    before = len(api.messages(chat_id))
    api.send_text(chat_id, text, chat_type=chat_type)
    messages = await api.wait_for_messages_async(chat_id, before + replies)
    return messages[before:]


async def text_of(api: BotApiDouble, chat_id: int, text: str, chat_type: str = "private") -> str:
    """Send ``text`` as a user and return the visible text of the bot's one reply."""
    [message] = await converse(api, chat_id, text, chat_type=chat_type)
    return message.visible_text
