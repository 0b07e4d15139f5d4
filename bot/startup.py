"""Before the bot serves: Telegram answers to its token, and its state store opens.

Both are checked here, before python-telegram-bot starts, so that what goes wrong at start
is a line an operator can act on rather than a traceback:

- Telegram rejects the token: one line naming ``BOT_TOKEN``;
- Telegram cannot be reached: one line naming the host and the error, then another try
  after a growing pause, with a short line each time, for as long as it takes. A bot
  started before the network is up comes up by itself;
- the store cannot be opened or migrated: one line naming ``BOT_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, User
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.config import Settings
from bot.store import Store

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0
"""Seconds before the second try to reach Telegram; the pause doubles after each failure."""
RETRY_MAX_DELAY = 30.0
"""The longest pause between two tries to reach Telegram."""
REJECTED_BY_TELEGRAM = (
    "BOT_TOKEN: Telegram rejected the token (revoked, or mistyped?): "
    "copy it again from @BotFather, or check BOT_API_BASE_URL"
)


class StartupError(Exception):
    """The bot cannot start; the message is one line that names the setting at fault."""


async def prepare(settings: Settings) -> None:
    """Wait until Telegram accepts the token, then open and migrate the store.

    The token first: it is what a newcomer gets wrong, and a bot that cannot run should
    not have made its database (and ``./data/``) before saying so.
    """
    assert settings.token is not None  # run checks it before anything else
    await reach_telegram(settings.token.get_secret_value(), settings.api_base_url)
    await open_store(settings.database_url)


async def open_store(database_url: str) -> None:
    """Connect to the store and migrate it, or :class:`StartupError` naming the setting.

    Here an ``OSError`` is the database's: a directory for the SQLite file that cannot be
    made, a server that refuses the connection. Once the bot runs, a database lost is
    waited out without stopping it, so an ``OSError`` that stops the bot is not the store's.
    """
    try:
        store = Store.connect(database_url)
        try:
            await store.migrate()
        finally:
            await store.close()
    except (SQLAlchemyError, OSError) as error:
        raise StartupError(
            f"BOT_DATABASE_URL: the state store cannot be used: {first_line(error)}"
        ) from None


async def reach_telegram(token: str, base_url: str) -> User:
    """Ask Telegram who the bot is (getMe) until it answers; the answer.

    :class:`StartupError` if Telegram rejects the token (401, or 404 for a token it cannot
    read). Anything else (no network, a timeout, a 5xx) is waited out.
    """
    host = urlsplit(base_url).netloc or base_url
    delay = RETRY_FIRST_DELAY
    failures = 0
    bot = Bot(token, base_url=base_url)
    try:
        while True:
            try:
                await bot.initialize()  # getMe
            except InvalidToken:
                # Its message quotes the token: it must go no further than here.
                raise StartupError(REJECTED_BY_TELEGRAM) from None
            except RetryAfter as error:
                pause = max(delay, _seconds(error))
                reason = "too many requests"
            except TelegramError as error:
                pause, reason = delay, error.message
            else:
                if failures:
                    logger.info("Telegram reached at %s", host)
                return bot.bot
            failures += 1
            if failures == 1:
                logger.warning(
                    "Telegram cannot be reached at %s: %s; will keep trying (next in %g s)",
                    host,
                    reason,
                    pause,
                )
            else:
                logger.warning(
                    "still no Telegram at %s (%s); next try in %g s", host, reason, pause
                )
            await asyncio.sleep(pause)
            delay = min(delay * 2, RETRY_MAX_DELAY)
    finally:
        await bot.shutdown()


def _seconds(error: RetryAfter) -> float:
    retry_after = error.retry_after
    return retry_after if isinstance(retry_after, int | float) else retry_after.total_seconds()


def first_line(error: BaseException) -> str:
    """The gist of an error: its first line (a database's later ones carry SQL and links)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
