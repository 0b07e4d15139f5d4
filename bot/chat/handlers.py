"""Handlers: each parses the update, asks the domain, renders a template and sends.

Every reply goes through :func:`reply`, so every message is HTML from a template, split to
Telegram's length limit, with the keyboard (if any) under its last part.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import RetryAfter, TelegramError

from bot.chat.context import BriefContext
from bot.chat.keyboards import (
    PARAGRAPH_PREFIX,
    SECTION_PREFIX,
    paragraphs_keyboard,
    sections_keyboard,
)
from bot.chat.transport import retry_after_seconds
from bot.render import SECTIONS, digest_context

logger = logging.getLogger(__name__)

REPLY_ATTEMPTS = 3
"""A reply under flood control is sent again after ``retry_after``, this many times in all."""


async def reply(
    update: Update,
    context: BriefContext,
    parts: list[str],
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Send ``parts`` to the chat of ``update``, in order, the keyboard under the last one."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - every handler here is for chat updates
        return
    message = update.effective_message
    thread = message.message_thread_id if isinstance(message, Message) else None
    for index, part in enumerate(parts):
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                await context.bot.send_message(
                    chat_id=chat.id,
                    text=part,
                    message_thread_id=thread if message and message.is_topic_message else None,
                    reply_markup=keyboard if index == len(parts) - 1 else None,
                )
                break
            except RetryAfter as error:
                # Flood control: wait as told, also holding back the broadcast sender.
                if attempt == REPLY_ATTEMPTS:
                    raise
                seconds = retry_after_seconds(error)
                context.bot_data.hold_sends(seconds)
                logger.info("flood control on a reply to %s: waiting %.0f s", chat.id, seconds)
                await asyncio.sleep(seconds)


async def send_section(update: Update, context: BriefContext, section: str) -> None:
    """Send one section of the digest; /source comes with its paragraph buttons."""
    data = context.bot_data
    keyboard = None
    if section == "source":
        keyboard = paragraphs_keyboard(data.renderer.labels, len(data.digest.article.paragraphs))
    await reply(update, context, data.renderer.section(section, data.digest), keyboard)


async def send_paragraph(update: Update, context: BriefContext, requested: str) -> None:
    """Send paragraph ``requested`` of the article, or say which numbers exist."""
    data = context.bot_data
    article = data.digest.article
    template = "no_such_paragraph.html"
    number = int(requested) if requested.isdecimal() else 0
    if 1 <= number <= len(article.paragraphs):
        template = "paragraph.html"
    parts = data.renderer.messages(
        template, number=number, requested=requested, **digest_context(data.digest)
    )
    await reply(update, context, parts)


def command_name(message: Message) -> str:
    """``/Summary@StoryBriefBot extra`` -> ``summary``."""
    word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    return word.lstrip("/").split("@", 1)[0].lower()


async def start(update: Update, context: BriefContext) -> None:
    """Welcome the user with the headline and the sections, or open a deep-linked section."""
    section = context.args[0].lower() if context.args else ""
    if section in SECTIONS:
        await send_section(update, context, section)
        return
    data = context.bot_data
    parts = data.renderer.messages("start.html", **digest_context(data.digest))
    await reply(update, context, parts, sections_keyboard(data.renderer.labels))


async def help_command(update: Update, context: BriefContext) -> None:
    """Say what the bot does and list its commands."""
    data = context.bot_data
    await reply(update, context, data.renderer.messages("help.html", **digest_context(data.digest)))


async def section_command(update: Update, context: BriefContext) -> None:
    """Answer /summary, /quotes, /figures, /people and /timeline with their section."""
    if update.effective_message is not None:
        await send_section(update, context, command_name(update.effective_message))


async def source(update: Update, context: BriefContext) -> None:
    """Say where the text comes from; ``/source N`` shows paragraph N."""
    if context.args:
        await send_paragraph(update, context, context.args[0])
    else:
        await send_section(update, context, "source")


async def button(update: Update, context: BriefContext) -> None:
    """Answer a button press, then send the section or paragraph it names."""
    query = update.callback_query
    if query is None:  # pragma: no cover - registered for callback queries only
        return
    await query.answer()
    data = query.data or ""
    if data.startswith(SECTION_PREFIX) and data.removeprefix(SECTION_PREFIX) in SECTIONS:
        await send_section(update, context, data.removeprefix(SECTION_PREFIX))
    elif data.startswith(PARAGRAPH_PREFIX):
        await send_paragraph(update, context, data.removeprefix(PARAGRAPH_PREFIX))


async def plain_text(update: Update, context: BriefContext) -> None:
    """Point a private chat's free text to the commands (free-text answers come later)."""
    data = context.bot_data
    await reply(
        update, context, data.renderer.messages("plain_text.html", **digest_context(data.digest))
    )


async def unknown_command(update: Update, context: BriefContext) -> None:
    """Tell a private chat that a command does not exist and where the list is."""
    if update.effective_message is None:  # pragma: no cover - registered for messages only
        return
    word = (update.effective_message.text or "/").split(maxsplit=1)[0]
    await reply(
        update, context, context.bot_data.renderer.messages("unknown_command.html", command=word)
    )


async def on_error(update: object, context: BriefContext) -> None:
    """Log the error with its traceback and apologise to the user, if there is one."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except TelegramError:
            logger.debug("callback query already answered or expired")
    try:
        await reply(update, context, context.bot_data.renderer.messages("error.html"))
    except TelegramError:
        logger.warning("could not send the apology to chat %s", update.effective_chat.id)


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
    data = context.bot_data
    chat = update.effective_chat
    message = update.effective_message
    parts = data.renderer.messages(
        "subscription.html",
        outcome=outcome,
        group=chat is not None and chat.type != ChatType.PRIVATE,
        command=(message.text or "").split(maxsplit=1)[0] if message else "",
        **digest_context(data.digest),
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
    data = context.bot_data
    parts = data.renderer.messages(
        "status.html",
        subscription=await data.store.subscription(chat.id),
        group=chat.type != ChatType.PRIVATE,
        version=data.library.version,
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


async def refuse_admin_command(update: Update, context: BriefContext) -> None:
    """Politely refuse an admin command from someone who is not an admin."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message else ""
    parts = context.bot_data.renderer.messages("admin_only.html", command=command)
    await reply(update, context, parts)


async def reload(update: Update, context: BriefContext) -> None:
    """Admins: re-read the digest file and publish it (``/reload check``: only report)."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    data = context.bot_data
    argument = context.args[0].lower() if context.args else ""
    if argument not in {"", "check"}:
        await reply(update, context, data.renderer.messages("reload.html", usage=True))
        return
    check = argument == "check"
    outcome = await data.library.reload(user.id, check=check)
    parts = data.renderer.messages(
        "reload.html",
        usage=False,
        check=check,
        problems=outcome.problems,
        diff=outcome.diff,
        version=outcome.version,
        recipients=outcome.recipients,
    )
    await reply(update, context, parts)


async def rollback(update: Update, context: BriefContext) -> None:
    """Admins: make the previous version current again, announced as a correction."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    data = context.bot_data
    outcome = await data.library.rollback(user.id)
    parts = data.renderer.messages(
        "rollback.html",
        version=outcome.restored,
        current=outcome.current,
        unservable=outcome.unservable,
        diff=outcome.diff,
        recipients=outcome.recipients,
    )
    await reply(update, context, parts)


async def stats(update: Update, context: BriefContext) -> None:
    """Admins: subscribers, the current version and the last broadcast's progress."""
    data = context.bot_data
    parts = data.renderer.messages(
        "stats.html",
        counts=await data.store.subscriber_counts(),
        version=data.library.version,
        broadcast=await data.store.latest_broadcast(),
    )
    await reply(update, context, parts)
