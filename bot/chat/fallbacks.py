"""What no other handler took: unknown commands, non-text messages, stale buttons, errors."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import TelegramError

from bot.chat.context import BriefContext
from bot.chat.replies import command_word, send_template
from bot.render import digest_context

logger = logging.getLogger(__name__)


def store_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database is out of reach or refuses writes, for now.

    A server down or a network cut (the driver's connection refused, reset or timed out,
    which asyncpg raises as plain ``OSError`` before SQLAlchemy wraps anything), a read-only
    or full SQLite file (``OperationalError``): the same request may work in a minute.
    A wrong query or a broken constraint is none of these: that is a bug, not an outage.
    """
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    return isinstance(error, OSError | TimeoutError | DisconnectionError | PoolTimeout)


async def unknown_command(update: Update, context: BriefContext) -> None:
    """Tell a private chat that a command does not exist and where the list is."""
    command = command_word(update.effective_message)
    await send_template(update, context, "unknown_command.html", command=command)


async def other_message(update: Update, context: BriefContext) -> None:
    """A private message that is not text (a sticker, a photo): say what the bot reads."""
    await send_template(update, context, "not_text.html", **digest_context(context.bot_data.digest))


async def unknown_button(update: Update, context: BriefContext) -> None:
    """Answer a button whose data no handler knows (an old keyboard, forged data), and
    send nothing: Telegram shows a spinner until every callback query is answered."""
    query = update.callback_query
    if query is not None:
        await query.answer()


async def on_error(update: object, context: BriefContext) -> None:
    """Log the error with its traceback and apologise to the user, if there is one."""
    if store_unavailable(context.error):
        # An outage: one line per update, not a page of driver traceback each; the first
        # failure of the delivery loop and /healthz say the rest.
        logger.warning(
            "an update needed the database, which is unavailable: %s",
            type(context.error).__name__,
        )
    else:
        logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except TelegramError:
            logger.debug("callback query already answered or expired")
    try:
        await send_template(update, context, "error.html")
    except TelegramError:
        logger.warning("could not send the apology to chat %s", update.effective_chat.id)
