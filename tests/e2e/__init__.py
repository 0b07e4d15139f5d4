"""Helpers for end-to-end tests: the real application, polling the loopback Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from bot.chat.app import build_application, running
from bot.chat.context import BriefApplication
from bot.config import Settings
from bot.digest import Digest
from tests.botapi import BotApiDouble, BotMessage

# The double's token: shaped like one from @BotFather (bot.config checks that), but fake.
TEST_TOKEN = "123456:TEST-TOKEN-0123456789abcdefghijklmn"


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
    api: BotApiDouble, settings: Settings, digest: Digest | None = None
) -> AsyncIterator[BriefApplication]:
    """Run the application as ``run_polling`` would, inside the test's event loop."""
    application = build_application(settings, digest=digest)
    async with running(application):
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield application
        finally:
            await application.updater.stop()


async def converse(
    api: BotApiDouble, chat_id: int, text: str, *, replies: int = 1, chat_type: str = "private"
) -> list[BotMessage]:
    """Send ``text`` as a user and wait for the bot's next ``replies`` messages in that chat."""
    before = len(api.messages(chat_id))
    api.send_text(chat_id, text, chat_type=chat_type)
    messages = await api.wait_for_messages_async(chat_id, before + replies)
    return messages[before:]
