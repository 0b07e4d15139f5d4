"""Handlers: each parses the update, asks the domain, renders a template and sends.

Every reply goes through :func:`reply`, so every message is HTML from a template, split to
Telegram's length limit, with the keyboard (if any) under its last part.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import RetryAfter, TelegramError

from bot import metrics
from bot.chat.context import BotData, BriefContext
from bot.chat.keyboards import (
    PARAGRAPH_PREFIX,
    SECTION_PREFIX,
    paragraphs_keyboard,
    sections_keyboard,
)
from bot.chat.transport import retry_after_seconds
from bot.render import SECTIONS, cited_paragraphs, digest_context

logger = logging.getLogger(__name__)

REPLY_ATTEMPTS = 3
"""A reply under flood control is sent again after ``retry_after``, this many times in all."""


async def reply(
    update: Update,
    context: BriefContext,
    parts: Sequence[str],
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Send ``parts`` to the chat of ``update``, in order, the keyboard under the last one."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - every handler here is for chat updates
        return
    message = update.effective_message
    thread = message.message_thread_id if isinstance(message, Message) else None
    if not (isinstance(message, Message) and message.is_topic_message):
        thread = None
    for index, part in enumerate(parts):
        markup = keyboard if index == len(parts) - 1 else None
        try:
            await context.bot.send_message(
                chat_id=chat.id, text=part, message_thread_id=thread, reply_markup=markup
            )
            metrics.count_reply()
        except RetryAfter as error:
            metrics.count_flood_wait()
            # Flood control: the rest goes out once Telegram allows, in the background, so
            # that one busy chat does not hold up every other user's update meanwhile.
            context.application.create_task(
                _send_later(context, chat.id, thread, parts[index:], keyboard, error),
                update=update,
                name=f"reply-later-{chat.id}",
            )
            return


async def _send_later(
    context: BriefContext,
    chat_id: int,
    thread: int | None,
    parts: Sequence[str],
    keyboard: InlineKeyboardMarkup | None,
    error: RetryAfter,
) -> None:
    """Send what flood control held back, waiting ``retry_after`` before each try."""
    for index, part in enumerate(parts):
        markup = keyboard if index == len(parts) - 1 else None
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            logger.info("flood control on a reply to %s: waiting", chat_id)
            await asyncio.sleep(retry_after_seconds(error))
            try:
                await context.bot.send_message(
                    chat_id=chat_id, text=part, message_thread_id=thread, reply_markup=markup
                )
                metrics.count_reply()
                break
            except RetryAfter as again:
                metrics.count_flood_wait()
                if attempt == REPLY_ATTEMPTS:
                    raise
                error = again


def command_word(message: Message | None) -> str:
    """The command as typed: ``/Summary@StoryBriefBot extra`` -> ``/Summary@StoryBriefBot``."""
    text = (message.text or "") if message else ""
    return text.split(maxsplit=1)[0] if text.strip() else ""


def command_name(message: Message | None) -> str:
    """The command's name: ``/Summary@StoryBriefBot extra`` -> ``summary``."""
    return command_word(message).lstrip("/").split("@", 1)[0].lower()


Rendered = tuple[tuple[str, ...], InlineKeyboardMarkup | None]
"""Messages ready to send, and the keyboard under the last one."""


def rendered_section(data: BotData, section: str) -> Rendered:
    """A section of the digest served, with a button for each paragraph it cites.

    The same for every chat (a topic thread only changes where it is sent), so it is
    rendered once per served digest: :class:`bot.render.DigestCache`.
    """
    cache = data.cache

    def render() -> Rendered:
        digest = cache.digest  # the digest this cache belongs to, never a newer one
        if section == "source":
            numbers = list(range(1, len(digest.article.paragraphs) + 1))
        else:
            numbers = cited_paragraphs(section, digest)
        keyboard = paragraphs_keyboard(data.renderer.labels, numbers)
        return tuple(data.renderer.section(section, digest)), keyboard

    return cache.get(("section", section), render)


def rendered_paragraph(data: BotData, number: int) -> tuple[str, ...]:
    """Paragraph ``number`` (it exists) of the digest served, rendered once per digest."""
    cache = data.cache

    def render() -> tuple[str, ...]:
        # Only the number and the digest: paragraph.html is not given what the user typed
        # ("05" and "5" are one cached message), and StrictUndefined would refuse it.
        parts = data.renderer.messages(
            "paragraph.html", number=number, **digest_context(cache.digest)
        )
        return tuple(parts)

    return cache.get(("paragraph", number), render)


def rendered_page(data: BotData, template: str) -> tuple[str, ...]:
    """A message rendered from the digest served and nothing else (/start, /help)."""
    cache = data.cache
    return cache.get(
        ("page", template),
        lambda: tuple(data.renderer.messages(template, **digest_context(cache.digest))),
    )


def menu_keyboard(data: BotData) -> InlineKeyboardMarkup:
    """The sections menu; InlineKeyboardMarkup is immutable, so one object serves every chat."""
    return data.cache.get("sections-keyboard", lambda: sections_keyboard(data.renderer.labels))


async def send_section(update: Update, context: BriefContext, section: str) -> None:
    """Send one section of the digest, with a button for each paragraph it cites."""
    parts, keyboard = rendered_section(context.bot_data, section)
    await reply(update, context, parts, keyboard)


async def send_paragraph(update: Update, context: BriefContext, requested: str) -> None:
    """Send paragraph ``requested`` of the article, or say which numbers exist."""
    data = context.bot_data
    number = int(requested) if requested.isdecimal() else 0
    if 1 <= number <= len(data.cache.digest.article.paragraphs):
        await reply(update, context, rendered_paragraph(data, number))
        return
    # Quotes what the user typed: rendered each time, never cached.
    parts = data.renderer.messages(
        "no_such_paragraph.html", requested=requested, **digest_context(data.cache.digest)
    )
    await reply(update, context, parts)


async def start(update: Update, context: BriefContext) -> None:
    """Welcome the user with the headline and the sections, or open a deep-linked section."""
    section = context.args[0].lower() if context.args else ""
    if section in SECTIONS:
        await send_section(update, context, section)
        return
    data = context.bot_data
    await reply(update, context, rendered_page(data, "start.html"), menu_keyboard(data))


async def help_command(update: Update, context: BriefContext) -> None:
    """Say what the bot does and list its commands."""
    await reply(update, context, rendered_page(context.bot_data, "help.html"))


async def section_command(update: Update, context: BriefContext) -> None:
    """Answer /summary, /quotes, /figures, /people and /timeline with their section."""
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


async def answer(update: Update, context: BriefContext, question: str) -> None:
    """Answer ``question`` from the article: its sentences with their paragraphs, or an
    honest "the article does not say" with the sections on offer."""
    data = context.bot_data
    found = data.library.answers.answer(question)
    labels = data.renderer.labels
    keyboard: InlineKeyboardMarkup | None
    if found.kind == "not_in_article":
        keyboard = menu_keyboard(data)
    else:
        keyboard = paragraphs_keyboard(labels, sorted({p.paragraph for p in found.sentences}))
    parts = data.renderer.messages(
        "answer.html", answer=found, question=question, **digest_context(data.digest)
    )
    await reply(update, context, parts, keyboard)


async def ask(update: Update, context: BriefContext) -> None:
    """Answer ``/ask <question>`` from the article."""
    question = " ".join(context.args or [])
    if question:
        await answer(update, context, question)
    else:
        await reply(update, context, context.bot_data.renderer.messages("ask_usage.html"))


async def private_text(update: Update, context: BriefContext) -> None:
    """In a private chat, any text is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await answer(update, context, message.text)


async def group_text(update: Update, context: BriefContext) -> None:
    """In a group, answer text that replies to the bot or mentions it; ignore the rest."""
    message = update.effective_message
    if message is None or not message.text:  # pragma: no cover - filtered to text messages
        return
    bot = context.bot
    replied = message.reply_to_message
    to_bot = (
        replied is not None and replied.from_user is not None and replied.from_user.id == bot.id
    )
    mention = f"@{bot.username}".casefold()
    mentions = [
        text
        for text in message.parse_entities([MessageEntity.MENTION]).values()
        if text.casefold() == mention
    ]
    if not (to_bot or mentions):
        return
    question = message.text
    for text in mentions:
        question = question.replace(text, " ")
    await answer(update, context, " ".join(question.split()))


async def other_message(update: Update, context: BriefContext) -> None:
    """A private message that is not text (a sticker, a photo): say what the bot reads."""
    data = context.bot_data
    parts = data.renderer.messages("not_text.html", **digest_context(data.digest))
    await reply(update, context, parts)


async def unknown_command(update: Update, context: BriefContext) -> None:
    """Tell a private chat that a command does not exist and where the list is."""
    parts = context.bot_data.renderer.messages(
        "unknown_command.html", command=command_word(update.effective_message)
    )
    await reply(update, context, parts)


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
    """Render and send what a subscription command did."""
    data = context.bot_data
    chat = update.effective_chat
    parts = data.renderer.messages(
        "subscription.html",
        outcome=outcome,
        group=chat is not None and chat.type != ChatType.PRIVATE,
        command=command_word(update.effective_message),
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
    added = await context.bot_data.store.subscriptions.subscribe(
        chat.id, chat_type=chat.type, title=chat.title
    )
    await _subscription_reply(update, context, "subscribed" if added else "already_subscribed")


async def unsubscribe(update: Update, context: BriefContext) -> None:
    """Stop this chat's updates (in groups, administrators only)."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    if not await may_manage_subscription(update, context):
        await _subscription_reply(update, context, "group_admins_only")
        return
    removed = await context.bot_data.store.subscriptions.unsubscribe(chat.id)
    await _subscription_reply(update, context, "unsubscribed" if removed else "not_subscribed")


async def status(update: Update, context: BriefContext) -> None:
    """Say whether this chat is subscribed, and which version of the brief it is reading."""
    chat = update.effective_chat
    if chat is None:  # pragma: no cover - registered for messages only
        return
    data = context.bot_data
    parts = data.renderer.messages(
        "status.html",
        subscription=await data.store.subscriptions.subscription(chat.id),
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
        await context.bot_data.store.subscriptions.mark_inactive(change.chat.id, reason)


async def migrated(update: Update, context: BriefContext) -> None:
    """A group became a supergroup: its subscription moves to the new chat id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        await context.bot_data.store.subscriptions.move_chat(
            message.chat.id, message.migrate_to_chat_id
        )


async def refuse_admin_command(update: Update, context: BriefContext) -> None:
    """Politely refuse an admin command: from someone who is not an admin, or in a group."""
    chat = update.effective_chat
    parts = context.bot_data.renderer.messages(
        "admin_only.html",
        command=command_word(update.effective_message),
        group=chat is not None and chat.type != ChatType.PRIVATE,
    )
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
        moved=outcome.moved,
        diff=outcome.diff,
        recipients=outcome.recipients,
    )
    await reply(update, context, parts)


async def stats(update: Update, context: BriefContext) -> None:
    """Admins: subscribers, the current version and the last broadcast's progress."""
    data = context.bot_data
    parts = data.renderer.messages(
        "stats.html",
        counts=await data.store.subscriptions.subscriber_counts(),
        version=data.library.version,
        broadcast=await data.store.ledger.latest_broadcast(),
    )
    await reply(update, context, parts)
