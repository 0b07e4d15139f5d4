"""Asking: questions about the story, by /ask or as plain text, answered from the article."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, MessageEntity, Update

from bot.chat.context import BriefContext
from bot.chat.keyboards import paragraphs_keyboard
from bot.chat.reading import is_private, menu_keyboard
from bot.chat.replies import send_template
from bot.render import digest_context

logger = logging.getLogger(__name__)


async def answer(update: Update, context: BriefContext, question: str) -> None:
    """Answer ``question`` from the article: its sentences with their paragraphs, or an
    honest "the article does not say" with the sections on offer."""
    services = context.bot_data
    found = services.library.answers.answer(question)
    keyboard: InlineKeyboardMarkup | None
    if found.kind == "not_in_article":
        keyboard = menu_keyboard(services, private=is_private(update))
    else:
        cited = sorted({sentence.paragraph for sentence in found.sentences})
        keyboard = paragraphs_keyboard(services.renderer.labels, cited)
    await send_template(
        update,
        context,
        "answer.html",
        keyboard,
        answer=found,
        question=question,
        **digest_context(services.digest),
    )
    if found.kind == "not_in_article":
        # Counted after the reply, not waited for: a slow database must not hold the chat's
        # next update, and a database that is down costs the count, never the reply.
        services.store.unanswered.record_later(question)


async def ask(update: Update, context: BriefContext) -> None:
    """Answer ``/ask <question>`` from the article."""
    question = " ".join(context.args or [])
    if question:
        await answer(update, context, question)
    else:
        await send_template(update, context, "ask_usage.html")


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
