"""The composition root: one place that wires settings, digest, templates and handlers.

``python -m bot`` (polling), the console and the tests all build the bot here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.chat import handlers
from bot.chat.context import BriefApplication, bind_bot_data
from bot.config import Settings
from bot.digest import Digest, load_digest
from bot.render import SECTIONS, Renderer

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 300.0


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    digest: Digest | None = None,
    renderer: Renderer | None = None,
    request: BaseRequest | None = None,
) -> BriefApplication:
    """Build the bot: load the digest (raising ``DigestError``), wire handlers, set defaults.

    ``token`` overrides ``BOT_TOKEN`` (the console passes a placeholder); ``request`` swaps
    the HTTP layer for an in-process Bot API (the console's double).
    """
    renderer = renderer or Renderer()
    digest = digest or load_digest(settings.digest_path)
    if token is None:
        if settings.token is None:
            raise ValueError("BOT_TOKEN is required to run the bot")
        token = settings.token.get_secret_value()

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_base_url)
        .context_types(ContextTypes(bot_data=bind_bot_data(settings, renderer, digest)))
        # Every message is HTML from a template; links in the article are not previewed.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .job_queue(None)
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    register_handlers(application)
    return application


# Only new messages: an edited "/summary" should not send the summary again.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def register_handlers(application: BriefApplication) -> None:
    """Attach every handler; order matters, since the first matching handler wins."""
    reading = [section for section in SECTIONS if section != "source"]
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=NEW_MESSAGES),
            CommandHandler("help", handlers.help_command, filters=NEW_MESSAGES),
            CommandHandler(reading, handlers.section_command, filters=NEW_MESSAGES),
            CommandHandler("source", handlers.source, filters=NEW_MESSAGES),
            CallbackQueryHandler(handlers.button),
            # After the known commands: anything else that looks like a command. In groups
            # it may be meant for another bot, so only private chats hear about it.
            MessageHandler(
                NEW_MESSAGES & filters.ChatType.PRIVATE & filters.COMMAND,
                handlers.unknown_command,
            ),
            # In groups the bot stays quiet unless spoken to with a command.
            MessageHandler(NEW_MESSAGES & filters.ChatType.PRIVATE, handlers.plain_text),
        ]
    )
    application.add_error_handler(handlers.on_error)


async def _post_init(application: BriefApplication) -> None:
    """Start the non-essential start-up calls in the background: the bot serves meanwhile."""
    task = asyncio.create_task(
        keep_trying(
            lambda: _register_commands(application),
            "setMyCommands",
            first_delay=RETRY_FIRST_DELAY,  # read at call time, so tests can shorten it
        ),
        name="register-commands",
    )
    application.bot_data.background.add(task)
    task.add_done_callback(application.bot_data.background.discard)


async def _post_stop(application: BriefApplication) -> None:
    for task in list(application.bot_data.background):
        task.cancel()
    await asyncio.gather(*application.bot_data.background, return_exceptions=True)


async def _register_commands(application: BriefApplication) -> None:
    labels = application.bot_data.renderer.labels
    await application.bot.set_my_commands(
        [BotCommand(name, text) for name, text in labels.commands]
    )


async def keep_trying(
    action: Callable[[], Awaitable[None]],
    what: str,
    *,
    first_delay: float = RETRY_FIRST_DELAY,
    max_delay: float = RETRY_MAX_DELAY,
) -> None:
    """Run ``action`` until it succeeds, backing off exponentially between failures."""
    delay = first_delay
    while True:
        try:
            await action()
        except TelegramError as error:
            logger.warning("%s failed (%s); retrying in %.0f s", what, error, delay)
        else:
            logger.info("%s done", what)
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


def run_polling(application: BriefApplication) -> None:
    """Serve Telegram by long polling until interrupted."""
    application.run_polling(allowed_updates=Update.ALL_TYPES)
