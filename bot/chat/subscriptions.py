"""Subscriptions: /subscribe, /unsubscribe, /status, and the chat changes that affect them."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.chat.context import BriefContext
from bot.chat.replies import command_word, reply
from bot.render import digest_context


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


async def _subscription_reply(update: Update, context: BriefContext, outcome: str) -> None:
    """Render and send what a subscription command did."""
    services = context.bot_data
    chat = update.effective_chat
    parts = services.renderer.messages(
        "subscription.html",
        outcome=outcome,
        group=chat is not None and chat.type != ChatType.PRIVATE,
        command=command_word(update.effective_message),
        **digest_context(services.digest),
    )
    await reply(update, context, parts)


async def subscribe(update: Update, context: BriefContext) -> None:
    """Subscribe this chat to updates of the digest (in groups, administrators only)."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    if not await may_manage_subscription(update, context):
        await _subscription_reply(update, context, "group_admins_only")
        return
    added = await context.bot_data.store.subscribe(chat.id, chat_type=chat.type, title=chat.title)
    await _subscription_reply(update, context, "subscribed" if added else "already_subscribed")


async def unsubscribe(update: Update, context: BriefContext) -> None:
    """Stop this chat's updates (in groups, administrators only)."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    if not await may_manage_subscription(update, context):
        await _subscription_reply(update, context, "group_admins_only")
        return
    removed = await context.bot_data.store.unsubscribe(chat.id)
    await _subscription_reply(update, context, "unsubscribed" if removed else "not_subscribed")


async def status(update: Update, context: BriefContext) -> None:
    """Say whether this chat is subscribed, and which version of the brief it is reading."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    services = context.bot_data
    parts = services.renderer.messages(
        "status.html",
        subscription=await services.store.subscription(chat.id),
        group=chat.type != ChatType.PRIVATE,
        version=services.library.version,
    )
    await reply(update, context, parts)


async def my_membership(update: Update, context: BriefContext) -> None:
    """Mark a chat inactive when the bot is blocked in it or removed from it."""
    change = update.my_chat_member
    if change is None:  # pragma: no cover - registered for my_chat_member only
        return
    status = change.new_chat_member.status
    if status in {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}:
        reason = "blocked" if change.chat.type == ChatType.PRIVATE else f"bot {status}"
        await context.bot_data.store.mark_inactive(change.chat.id, reason)


async def migrated(update: Update, context: BriefContext) -> None:
    """A group became a supergroup: its subscription moves to the new chat id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        await context.bot_data.store.move_chat(message.chat.id, message.migrate_to_chat_id)
