"""Inline mode: ``@bot words`` in any chat offers cited cards of the brief to share."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.cards import card_message, card_titles, cards_for
from bot.chat.context import BriefContext

INLINE_CACHE_SECONDS = 60
"""How long Telegram may serve cached results: a /reload shows in inline mode within it."""


async def inline_query(update: Update, context: BriefContext) -> None:
    """Answer an inline query with up to ten cited cards (the sections when it is empty)."""
    query = update.inline_query
    if query is None:  # pragma: no cover - registered for inline queries only
        return
    data = context.bot_data
    digest = data.digest
    cards = cards_for(query.query, digest, data.library.answers, data.library.version.id)
    username = context.bot.username
    open_label = data.renderer.labels.open_brief
    results = []
    for card in cards:
        title, description = card_titles(card, digest, data.renderer)
        button = InlineKeyboardButton(
            open_label, url=f"https://t.me/{username}?start={card.deep_link}"
        )
        results.append(
            InlineQueryResultArticle(
                id=card.id,
                title=title,
                description=description,
                input_message_content=InputTextMessageContent(
                    card_message(card, digest, data.renderer), parse_mode=ParseMode.HTML
                ),
                reply_markup=InlineKeyboardMarkup([[button]]),
            )
        )
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)
