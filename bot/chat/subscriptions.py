"""Subscriptions: /subscribe, /unsubscribe, /status, and the chat changes that affect them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.chat.context import BriefContext
from bot.chat.fallbacks import store_unavailable
from bot.chat.replies import command_word, send_template
from bot.render import digest_context

logger = logging.getLogger(__name__)

SILENT = "silent"
"""``/subscribe silent``: updates arrive without a sound (``disable_notification``)."""


T = TypeVar("T")


@dataclass(frozen=True)
class _Read(Generic[T]):
    """What the store answered (which may itself be None: "not subscribed")."""

    value: T


async def _constant(value: T) -> T:
    return value


async def _from_store(
    update: Update, context: BriefContext, call: Callable[[], Awaitable[T]]
) -> _Read[T] | None:
    """``call()`` within the store's time limit; None once the chat has been told the store
    is away for a moment. Any other error goes on to the error handler."""
    try:
        async with asyncio.timeout(context.bot_data.store.time_limit):
            return _Read(await call())
    except Exception as error:
        if not store_unavailable(error):
            raise
        await _unavailable(update, context, error)
        return None


async def may_manage_subscription(update: Update, context: BriefContext) -> bool:
    """Anyone in a private chat; in a group, its administrators (or the group itself)."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id  # an anonymous administrator
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def _manage(
    update: Update,
    context: BriefContext,
    change: Callable[[Chat], Awaitable[str]],
    *,
    silent: bool = False,
) -> None:
    """Apply ``change`` to this chat's subscription if the sender may manage it, and say
    what happened (``change`` returns the outcome that subscription.html words)."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    allowed = await may_manage_subscription(update, context)
    done = await _from_store(
        update, context, lambda: change(chat) if allowed else _constant("group_admins_only")
    )
    if done is None:
        return
    outcome = done.value
    await send_template(
        update,
        context,
        "subscription.html",
        outcome=outcome,
        silent=silent,
        group=chat.type != ChatType.PRIVATE,
        command=command_word(update.effective_message),
        **digest_context(context.bot_data.digest),
    )


async def subscribe(update: Update, context: BriefContext) -> None:
    """Subscribe this chat to updates (``/subscribe silent``: without a sound); in groups,
    administrators only."""
    store = context.bot_data.store
    argument = " ".join(context.args or []).strip().lower()
    if argument not in {"", SILENT}:
        await send_template(
            update,
            context,
            "subscription.html",
            outcome="usage",
            silent=False,
            group=False,
            command=command_word(update.effective_message),
            **digest_context(context.bot_data.digest),
        )
        return
    silent = argument == SILENT

    async def add(chat: Chat) -> str:
        before = await store.subscriptions.subscription(chat.id)
        added = await store.subscriptions.subscribe(
            chat.id, chat_type=chat.type, title=chat.title, silent=silent
        )
        if added:
            return "subscribed"
        if before is not None and before.silent != silent:
            return "now_silent" if silent else "now_with_sound"
        return "already_subscribed"

    await _manage(update, context, add, silent=silent)


async def unsubscribe(update: Update, context: BriefContext) -> None:
    """Stop this chat's updates (in groups, administrators only)."""
    store = context.bot_data.store

    async def remove(chat: Chat) -> str:
        return (
            "unsubscribed" if await store.subscriptions.unsubscribe(chat.id) else "not_subscribed"
        )

    await _manage(update, context, remove)


async def status(update: Update, context: BriefContext) -> None:
    """Say whether this chat is subscribed, and which version of the brief it is reading."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    services = context.bot_data
    found = await _from_store(
        update, context, lambda: services.store.subscriptions.subscription(chat.id)
    )
    if found is None:
        return
    subscription = found.value
    await send_template(
        update,
        context,
        "status.html",
        subscription=subscription,
        group=chat.type != ChatType.PRIVATE,
        version=services.library.version,
    )


async def _unavailable(update: Update, context: BriefContext, error: Exception) -> None:
    """The database is away: say so, and that the rest of the bot works meanwhile."""
    logger.warning("subscriptions unavailable: the database failed (%s)", type(error).__name__)
    await send_template(
        update, context, "store_unavailable.html", command=command_word(update.effective_message)
    )


async def my_membership(update: Update, context: BriefContext) -> None:
    """Mark a chat inactive when the bot is blocked in it or removed from it."""
    change = update.my_chat_member
    if change is None:  # pragma: no cover - registered for my_chat_member only
        return
    status = change.new_chat_member.status
    if status in {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}:
        reason = "blocked" if change.chat.type == ChatType.PRIVATE else f"bot {status}"
        await context.bot_data.store.subscriptions.mark_inactive(change.chat.id, reason)


async def migrated(update: Update, context: BriefContext) -> None:
    """A group became a supergroup: its subscription moves to the new chat id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        await context.bot_data.store.subscriptions.move_chat(
            message.chat.id, message.migrate_to_chat_id
        )
