"""The composition root: one place that wires settings, store, digest, templates and handlers.

``python -m bot`` (polling), the console and the tests all build the bot here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.chat import handlers
from bot.chat.context import BriefApplication, Services, bind_bot_data
from bot.chat.transport import TelegramTransport
from bot.config import Settings
from bot.delivery import DeliverySender, SendLimiter
from bot.digest import Digest, load_digest
from bot.library import DigestLibrary
from bot.render import SECTIONS, Renderer
from bot.store import Store

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 300.0
ADMIN_COMMANDS = ("reload", "rollback", "stats")


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    digest: Digest | None = None,
    renderer: Renderer | None = None,
    request: BaseRequest | None = None,
) -> BriefApplication:
    """Build the bot: load the digest (raising ``DigestError``), wire handlers, set defaults.

    Nothing is connected yet: post_init migrates the store, picks the version to serve and
    starts the delivery sender. ``token`` overrides ``BOT_TOKEN`` (the console passes a
    placeholder); ``request`` swaps the HTTP layer for an in-process Bot API (the console).
    """
    renderer = renderer or Renderer()
    digest = digest or load_digest(settings.digest_path)
    if token is None:
        if settings.token is None:
            raise ValueError("BOT_TOKEN is required to run the bot")
        token = settings.token.get_secret_value()

    store = Store.connect(settings.database_url)
    library = DigestLibrary(store, settings.digest_path, renderer, digest)
    services = Services(settings=settings, renderer=renderer, store=store, library=library)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_base_url)
        .context_types(ContextTypes(bot_data=bind_bot_data(services)))
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
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    # The sender needs the application's bot, which exists only now.
    services.sender = DeliverySender(
        store, TelegramTransport(application.bot), SendLimiter(settings.broadcast_rate)
    )
    library.on_broadcast = application.bot_data.wake_sender
    register_handlers(application, settings)
    return application


# Only new messages: an edited "/summary" should not send the summary again.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def register_handlers(application: BriefApplication, settings: Settings) -> None:
    """Attach every handler; order matters, since the first matching handler wins."""
    reading = [section for section in SECTIONS if section != "source"]
    admins = filters.User(user_id=settings.admin_ids)
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=NEW_MESSAGES),
            CommandHandler("help", handlers.help_command, filters=NEW_MESSAGES),
            CommandHandler(reading, handlers.section_command, filters=NEW_MESSAGES),
            CommandHandler("source", handlers.source, filters=NEW_MESSAGES),
            CommandHandler("subscribe", handlers.subscribe, filters=NEW_MESSAGES),
            CommandHandler("unsubscribe", handlers.unsubscribe, filters=NEW_MESSAGES),
            CommandHandler("status", handlers.status, filters=NEW_MESSAGES),
            CommandHandler("reload", handlers.reload, filters=NEW_MESSAGES & admins),
            CommandHandler("rollback", handlers.rollback, filters=NEW_MESSAGES & admins),
            CommandHandler("stats", handlers.stats, filters=NEW_MESSAGES & admins),
            # Admin commands from anyone else land here, after the admin-only handlers.
            CommandHandler(ADMIN_COMMANDS, handlers.refuse_admin_command, filters=NEW_MESSAGES),
            CallbackQueryHandler(handlers.button),
            ChatMemberHandler(handlers.my_membership, ChatMemberHandler.MY_CHAT_MEMBER),
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
    """Open the store, choose the version to serve, then start the background tasks.

    The store and the library come first: no update is handled before post_init returns,
    so every handler sees a migrated store and the version it should serve.
    """
    data = application.bot_data
    await data.store.migrate()
    await data.library.start()
    sender = data.services.sender
    assert sender is not None  # set by build_application
    _background(application, sender.run(), SENDER_TASK)
    _background(
        application,
        keep_trying(
            lambda: _register_commands(application),
            "setMyCommands",
            first_delay=RETRY_FIRST_DELAY,  # read at call time, so tests can shorten it
        ),
        "register-commands",
    )


def _background(application: BriefApplication, work: Coroutine[Any, Any, None], name: str) -> None:
    tasks = application.bot_data.background
    task = asyncio.create_task(work, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


SENDER_TASK = "delivery-sender"
SENDER_STOP_TIMEOUT = 10.0


async def _post_stop(application: BriefApplication) -> None:
    """Let the sender finish the sends under way, then stop the other background tasks."""
    data = application.bot_data
    background = data.background
    sender_tasks = [task for task in background if task.get_name() == "delivery-sender"]
    if data.services.sender is not None:
        data.services.sender.stop()
    _, late = (
        await asyncio.wait(sender_tasks, timeout=SENDER_STOP_TIMEOUT) if sender_tasks else ((), ())
    )
    for task in [*late, *background]:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)


async def _post_shutdown(application: BriefApplication) -> None:
    await application.bot_data.store.close()


async def _register_commands(application: BriefApplication) -> None:
    """The command menu for everyone, and for each admin a menu with the admin commands."""
    labels = application.bot_data.renderer.labels
    public = [BotCommand(name, text) for name, text in labels.commands]
    await application.bot.set_my_commands(public)
    admin = public + [BotCommand(name, text) for name, text in labels.admin_commands]
    for admin_id in sorted(application.bot_data.settings.admin_ids):
        try:
            await application.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
        except BadRequest as error:
            # Typically "chat not found": the admin has not started the bot yet. Retrying
            # would not help; the menu appears once they have and the bot restarts.
            logger.warning("no admin command menu for %s: %s", admin_id, error.message)


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


@asynccontextmanager
async def running(application: BriefApplication) -> AsyncIterator[BriefApplication]:
    """Start and stop the application as ``run_polling`` does, but without fetching updates.

    For the console, which feeds updates itself, and for tests, which add an updater.
    """
    async with application:  # initialize() ... shutdown()
        await _post_init(application)
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
            await _post_stop(application)
    await _post_shutdown(application)


def run_polling(application: BriefApplication) -> None:
    """Serve Telegram by long polling until interrupted."""
    application.run_polling(allowed_updates=Update.ALL_TYPES)
