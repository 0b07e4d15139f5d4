"""Replies: every message the handlers send goes through :func:`reply`.

So every message is HTML from a template, split to Telegram's length limit, with the
keyboard (if any) under its last part; a reply that meets flood control is finished in the
background once Telegram allows. Also here: the command word of the message answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import RetryAfter

from bot import metrics
from bot.chat.context import BriefContext
from bot.chat.transport import retry_after_seconds

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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
    # Into the forum topic the message came from; a reply thread is not a topic.
    thread = None
    if isinstance(message, Message) and message.is_topic_message:
        thread = message.message_thread_id
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
                send_later(context, chat.id, thread, parts[index:], keyboard, error),
                update=update,
                name=f"reply-later-{chat.id}",
            )
            return


async def send_template(
    update: Update,
    context: BriefContext,
    template: str,
    keyboard: InlineKeyboardMarkup | None = None,
    /,
    **values: object,
) -> None:
    """Render ``template`` with ``values`` and send it as :func:`reply` does."""
    await reply(update, context, context.bot_data.renderer.messages(template, **values), keyboard)


def fields_of(record: DataclassInstance) -> dict[str, object]:
    """A dataclass's fields by name (not copied, unlike ``asdict``), as template values."""
    return {field.name: getattr(record, field.name) for field in fields(record)}


async def send_later(
    context: BriefContext,
    chat_id: int,
    thread: int | None,
    parts: Sequence[str],
    keyboard: InlineKeyboardMarkup | None,
    error: RetryAfter,
) -> None:
    """Send what flood control held back: wait ``retry_after``, then send the parts in order,
    waiting again only when Telegram answers another 429."""
    wait = retry_after_seconds(error)
    for index, part in enumerate(parts):
        markup = keyboard if index == len(parts) - 1 else None
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            if wait > 0:
                logger.info("flood control on a reply to %s: waiting %.0f s", chat_id, wait)
                await asyncio.sleep(wait)
                wait = 0
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
                wait = retry_after_seconds(again)


def command_word(message: Message | None) -> str:
    """The command as typed: ``/Summary@StoryBriefBot extra`` -> ``/Summary@StoryBriefBot``."""
    text = (message.text or "") if message else ""
    return text.split(maxsplit=1)[0] if text.strip() else ""


def command_name(message: Message | None) -> str:
    """The command's name: ``/Summary@StoryBriefBot extra`` -> ``summary``."""
    return command_word(message).lstrip("/").split("@", 1)[0].lower()
