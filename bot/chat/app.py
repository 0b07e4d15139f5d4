"""The composition root: one place that wires settings, store, digest, templates and handlers.

``python -m bot`` (polling), the console and the tests all build the bot here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import metrics
from bot.chat import handlers, inline
from bot.chat.context import BriefApplication, BriefContext, Services, bind_bot_data
from bot.chat.transport import PooledRequest, SharedRate, TelegramTransport, polling_request
from bot.config import Settings
from bot.delivery import DeliverySender, SendLimiter
from bot.delivery.leadership import Leadership
from bot.delivery.sender import SenderPolicy
from bot.digest import Digest, load_digest
from bot.library import DigestLibrary
from bot.render import SECTIONS, Renderer
from bot.store import Store

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 300.0
ADMIN_COMMANDS = ("reload", "rollback", "stats")
SENDER_TASK = "delivery-sender"
SENDER_STOP_TIMEOUT = 10.0
"""Seconds a stopping bot gives the sends under way; then they are cut (and resumed later)."""
REPLY_CONNECTIONS = 32
"""HTTP connections beyond the sender's: replies (one update at a time) and their retries."""


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
    policy = SenderPolicy.for_rate(settings.broadcast_rate)
    # One limiter for every message: the sender waits for its slots, replies take theirs.
    limiter = SendLimiter(settings.broadcast_rate)
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
        .rate_limiter(SharedRate(limiter))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # A connection for each send the sender keeps in flight, and some for the replies.
        builder = builder.request(
            PooledRequest(policy.concurrency + REPLY_CONNECTIONS)
        ).get_updates_request(polling_request())
    application = builder.build()
    # The sender needs the application's bot, which exists only now.
    services.sender = DeliverySender(
        store,
        TelegramTransport(application.bot, paid_broadcast=settings.paid_broadcast),
        limiter,
        policy,
    )
    services.leadership = Leadership(settings.database_url)
    library.on_broadcast = application.bot_data.wake_sender
    register_handlers(application, settings)
    return application


# Only new messages: an edited "/summary" should not send the summary again.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def register_handlers(application: BriefApplication, settings: Settings) -> None:
    """Attach every handler; order matters, since the first matching handler wins."""
    # Group -1 runs before the others and does not stop them: it only counts.
    application.add_handler(TypeHandler(Update, _count_update), group=-1)
    reading = [section for section in SECTIONS if section != "source"]
    # Admin commands are for admins, in their private chat with the bot: a group would see
    # the digest's problems and the state of every broadcast.
    admins = filters.User(user_id=settings.admin_ids) & filters.ChatType.PRIVATE
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=NEW_MESSAGES),
            CommandHandler("help", handlers.help_command, filters=NEW_MESSAGES),
            CommandHandler(reading, handlers.section_command, filters=NEW_MESSAGES),
            CommandHandler("source", handlers.source, filters=NEW_MESSAGES),
            CommandHandler("ask", handlers.ask, filters=NEW_MESSAGES),
            CommandHandler("subscribe", handlers.subscribe, filters=NEW_MESSAGES),
            CommandHandler("unsubscribe", handlers.unsubscribe, filters=NEW_MESSAGES),
            CommandHandler("status", handlers.status, filters=NEW_MESSAGES),
            CommandHandler("reload", handlers.reload, filters=NEW_MESSAGES & admins),
            CommandHandler("rollback", handlers.rollback, filters=NEW_MESSAGES & admins),
            CommandHandler("stats", handlers.stats, filters=NEW_MESSAGES & admins),
            # Admin commands from anyone else, or in a group, land here.
            CommandHandler(ADMIN_COMMANDS, handlers.refuse_admin_command, filters=NEW_MESSAGES),
            CallbackQueryHandler(handlers.button),
            InlineQueryHandler(inline.inline_query),
            ChatMemberHandler(handlers.my_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, handlers.migrated),
            # After the known commands: anything else that looks like a command. In groups
            # it may be meant for another bot, so only private chats hear about it.
            MessageHandler(NEW_MESSAGES & private & filters.COMMAND, handlers.unknown_command),
            # Text is a question: any text in a private chat; in a group, only text that
            # replies to the bot or mentions it (the handler checks which).
            MessageHandler(NEW_MESSAGES & private & filters.TEXT, handlers.private_text),
            MessageHandler(
                NEW_MESSAGES & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
                handlers.group_text,
            ),
            MessageHandler(NEW_MESSAGES & private, handlers.other_message),
        ]
    )
    application.add_error_handler(handlers.on_error)


async def _count_update(update: Update, context: BriefContext) -> None:
    """Count each update by command (or text, callback, other) for /metrics."""
    text = update.message.text if update.message is not None else None
    metrics.count_update(metrics.update_kind(text, callback=update.callback_query is not None))


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
    leadership = data.services.leadership
    assert leadership is not None  # set by build_application

    def lead() -> Coroutine[Any, Any, None]:
        # Only the replica holding the lead drains the ledger, so the rate holds across
        # replicas; a sender stopped when the lead was lost may lead again later.
        sender.rearm()
        return sender.run()

    _background(application, leadership.run(lead, sender.stop), SENDER_TASK)
    _background(
        application,
        keep_trying(
            lambda: _register_commands(application),
            "setMyCommands",
            first_delay=RETRY_FIRST_DELAY,  # read at call time, so tests can shorten it
        ),
        "register-commands",
    )
    # Start-up is complete: modules, digest, templates' environment, answer engine, the
    # store's engine. All of it lives as long as the process: some 120,000 objects, against
    # 45,000 in a bare python-telegram-bot bot, and every full garbage collection walked
    # them (34 ms against 10 ms, measured) while no update was handled: most of our latency
    # tail. gc.freeze() moves them to a permanent generation the collector skips; what the
    # updates allocate is collected as before. No gc.collect() first: start-up leaves a few
    # hundred objects of cyclic garbage, not worth a full pass at every start. Once per
    # process (the tests and the console may start several applications in one).
    if gc.get_freeze_count() == 0:
        gc.freeze()


def _background(application: BriefApplication, work: Coroutine[Any, Any, None], name: str) -> None:
    """Run ``work`` beside the handlers until post_stop; log it if it dies of an error."""
    tasks = application.bot_data.background
    task = asyncio.create_task(work, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    # Without this a background task that dies would stay silent until garbage collection.
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s died", task.get_name(), exc_info=task.exception())


async def _post_stop(application: BriefApplication) -> None:
    """Let the sender finish the sends under way, then stop the other background tasks."""
    data = application.bot_data
    if data.services.leadership is not None:
        data.services.leadership.stop()  # a replica that is not leading returns at once
    if data.services.sender is not None:
        data.services.sender.stop()
    senders = [task for task in data.background if task.get_name() == SENDER_TASK]
    if senders:
        await asyncio.wait(senders, timeout=SENDER_STOP_TIMEOUT)
    for task in list(data.background):  # the rest, and a sender that overran its time
        task.cancel()
    await asyncio.gather(*data.background, return_exceptions=True)


async def _post_shutdown(application: BriefApplication) -> None:
    """Close the store's connections."""
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
        except (BadRequest, Forbidden) as error:
            # "chat not found": the admin has not started the bot yet; Forbidden: blocked it.
            # Retrying would not help; the menu appears once they talk to it and it restarts.
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
    try:
        async with application:  # initialize() ... shutdown()
            await _post_init(application)
            await application.start()
            try:
                yield application
            finally:
                await application.stop()
                await _post_stop(application)
    finally:
        await _post_shutdown(application)


def run_polling(application: BriefApplication) -> None:
    """Serve Telegram by long polling until interrupted."""
    application.run_polling(allowed_updates=Update.ALL_TYPES)
