"""The composition root: one place that wires settings, store, digest, templates and handlers.

``python -m bot`` (polling), the console and the tests all build the bot here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import metrics
from bot.chat import (
    asking,
    commands,
    drafting,
    fallbacks,
    inline,
    reading,
    subscriptions,
    updates,
)
from bot.chat.background import BackgroundTasks
from bot.chat.commands import NEW_MESSAGES
from bot.chat.context import BriefApplication, BriefBot, BriefContext, Services, bot_data_type
from bot.chat.keyboards import PARAGRAPH_PATTERN, SECTION_PATTERN
from bot.chat.ordering import ADMITTED_PER_RUNNING, AdmissionQueue, ChatOrderedProcessor
from bot.chat.transport import PollingRequest, PooledRequest, SharedRate, TelegramTransport
from bot.config import Settings
from bot.delivery import DeliverySender, SendLimiter
from bot.delivery.leadership import Leadership
from bot.delivery.sender import SenderPolicy
from bot.digest import Digest, load_digest
from bot.library import DigestLibrary
from bot.render import Renderer
from bot.store import Store

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 300.0
SENDER_TASK = "delivery-sender"
SENDER_STOP_TIMEOUT = 10.0
"""Seconds a stopping bot gives the sends under way; then they are cut (and resumed later)."""
REPLY_CONNECTIONS = 32
"""The fewest HTTP connections beyond the sender's, for replies and their retries."""
MAX_REPLY_CONNECTIONS = 256


def file_base_url(api_base_url: str) -> str:
    """Where files are downloaded from: Telegram's ``…/bot`` becomes ``…/file/bot``."""
    head, separator, tail = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if separator else f"{api_base_url}/file"


def reply_connections(concurrent_updates: int) -> int:
    """HTTP connections for replies: one per update handled at once, within reason.

    Fewer would make handlers queue for a connection (and time out after a second);
    more than :data:`MAX_REPLY_CONNECTIONS` buys nothing Telegram's limits would allow.
    """
    return max(REPLY_CONNECTIONS, min(concurrent_updates, MAX_REPLY_CONNECTIONS))


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
    policy = dataclasses.replace(
        SenderPolicy.for_rate(settings.broadcast_rate), store_timeout=store.time_limit
    )
    # One limiter for every message: the sender waits for its slots, replies take theirs.
    limiter = SendLimiter(settings.broadcast_rate)
    # getUpdates over a connection of its own, its answers kept for polling (polling.py).
    updates_request = None if request is not None else PollingRequest()
    # The bot first: the sender sends with it, and the services are complete before the
    # application exists.
    bot: BriefBot = ExtBot(
        token,
        base_url=settings.api_base_url,
        # Files come from the same server as the methods (a local Bot API server, a double).
        base_file_url=file_base_url(settings.api_base_url),
        # A connection for each send the sender keeps in flight, and some for the replies;
        # the console passes its in-process Bot API instead.
        request=request
        or PooledRequest(policy.concurrency + reply_connections(settings.concurrent_updates)),
        get_updates_request=request or updates_request,
        # Every message is HTML from a template; links in the article are not previewed.
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        rate_limiter=SharedRate(limiter),
    )
    sender = DeliverySender(
        store.ledger,
        TelegramTransport(bot, paid_broadcast=settings.paid_broadcast),
        limiter,
        policy,
    )
    services = Services(
        settings=settings,
        renderer=renderer,
        store=store,
        library=DigestLibrary(
            store, settings.digest_path, renderer, digest, on_broadcast=sender.wake
        ),
        sender=sender,
        leadership=Leadership(settings.database_url),
        background=BackgroundTasks(),
        updates_request=updates_request,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(bot_data=bot_data_type(services)))
        .job_queue(None)
        # Polling is bot/chat/polling.py's (it starts the next getUpdates sooner under load);
        # the webhook puts into the same queue.
        .updater(None)
        # Updates of different chats at once, each chat's in order (bot/chat/ordering.py).
        .concurrent_updates(ChatOrderedProcessor(settings.concurrent_updates))
        # At most twice as many updates in memory; the rest wait at Telegram (ordering.py).
        .update_queue(AdmissionQueue(ADMITTED_PER_RUNNING * settings.concurrent_updates))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    register_handlers(application)
    return application


def register_handlers(application: BriefApplication) -> None:
    """Attach every handler; order matters, since the first matching handler wins."""
    # Group -1 runs before the others and does not stop them: it only counts.
    application.add_handler(TypeHandler(Update, _count_update), group=-1)
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            *commands.command_handlers(application.bot_data.settings.admin_ids),
            # Buttons, by the kind their data names; anything else only gets its answer.
            CallbackQueryHandler(reading.section_button, pattern=SECTION_PATTERN),
            CallbackQueryHandler(reading.paragraph_button, pattern=PARAGRAPH_PATTERN),
            CallbackQueryHandler(updates.all_changes_button, pattern=updates.CHANGES_PATTERN),
            CallbackQueryHandler(fallbacks.unknown_button),
            InlineQueryHandler(inline.inline_query),
            ChatMemberHandler(subscriptions.my_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, subscriptions.migrated),
            # After the known commands: anything else that looks like a command. In groups
            # it may be meant for another bot, so only private chats hear about it.
            MessageHandler(NEW_MESSAGES & private & filters.COMMAND, fallbacks.unknown_command),
            # Text is a question: any text in a private chat; in a group, only text that
            # replies to the bot or mentions it (the handler checks which).
            MessageHandler(NEW_MESSAGES & private & filters.TEXT, asking.private_text),
            MessageHandler(
                NEW_MESSAGES & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
                asking.group_text,
            ),
            # A document in a private chat: an article an admin wants a digest drafted from.
            drafting.drafting_handler(),
            MessageHandler(NEW_MESSAGES & private, fallbacks.other_message),
        ]
    )
    application.add_error_handler(fallbacks.on_error)


async def _count_update(update: Update, context: BriefContext) -> None:
    """Count each update by command (or text, callback, other) for /metrics."""
    text = update.message.text if update.message is not None else None
    metrics.count_update(metrics.update_kind(text, callback=update.callback_query is not None))


async def _post_init(application: BriefApplication) -> None:
    """Open the store, choose the version to serve, then start the background tasks.

    The store and the library come first: no update is handled before post_init returns,
    so every handler sees a migrated store and the version it should serve.
    """
    services = application.bot_data
    await services.store.migrate()
    await services.library.start()
    sender = services.sender

    def lead() -> Coroutine[Any, Any, None]:
        # Only the replica holding the lead drains the ledger, so the rate holds across
        # replicas; a sender stopped when the lead was lost may lead again later.
        sender.rearm()
        return sender.run()

    services.background.start(services.leadership.run(lead, sender.stop), SENDER_TASK)
    services.background.start(
        keep_trying(
            lambda: _register_commands(application),
            "setMyCommands",
            first_delay=RETRY_FIRST_DELAY,  # read at call time, so tests can shorten it
        ),
        "register-commands",
    )
    # Start-up is complete, and what it built (modules, digest, templates, answer engine,
    # the store's engine) lives as long as the process: gc.freeze() moves it to a permanent
    # generation that full collections skip, which keeps them from walking it between
    # updates (the latency tail: see tests/benchmarks/README.md). What updates allocate is
    # collected as before. Once per process: the tests and the console start several
    # applications in one.
    if gc.get_freeze_count() == 0:
        gc.freeze()


async def _post_stop(application: BriefApplication) -> None:
    """Let the sender finish the sends under way, then stop the other background tasks."""
    services = application.bot_data
    services.leadership.stop()  # a replica that is not leading returns at once
    services.sender.stop()
    await services.background.stop(finishing=SENDER_TASK, grace=SENDER_STOP_TIMEOUT)


async def _post_shutdown(application: BriefApplication) -> None:
    """Close the store's connections."""
    await application.bot_data.store.close()


async def _register_commands(application: BriefApplication) -> None:
    """The command menu for everyone, and for each admin a menu with the admin commands."""
    public, admin = commands.menus(application.bot_data.renderer.labels)
    await application.bot.set_my_commands(public)
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
    """Start and stop the application (initialize, post_init, start; stop, post_stop,
    shutdown, post_shutdown), without fetching updates.

    Polling (bot/chat/polling.py), the webhook and the console each put updates into its
    queue while inside.
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
