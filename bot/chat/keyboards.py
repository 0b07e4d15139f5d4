"""Inline keyboards and their callback data (``section:NAME``, ``paragraph:N``)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import SECTIONS, Labels

SECTION_PREFIX = "section:"
PARAGRAPH_PREFIX = "paragraph:"
SECTION_COLUMNS = 2
PARAGRAPH_COLUMNS = 6


def _rows(buttons: list[InlineKeyboardButton], columns: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[start : start + columns] for start in range(0, len(buttons), columns)]


def sections_keyboard(labels: Labels) -> InlineKeyboardMarkup:
    """The menu of sections shown by /start."""
    buttons = [
        InlineKeyboardButton(labels.sections[section], callback_data=SECTION_PREFIX + section)
        for section in SECTIONS
    ]
    return InlineKeyboardMarkup(_rows(buttons, SECTION_COLUMNS))


def paragraphs_keyboard(labels: Labels, count: int) -> InlineKeyboardMarkup:
    """One button per paragraph of the article, shown by /source."""
    buttons = [
        InlineKeyboardButton(labels.paragraph_button(n), callback_data=f"{PARAGRAPH_PREFIX}{n}")
        for n in range(1, count + 1)
    ]
    return InlineKeyboardMarkup(_rows(buttons, PARAGRAPH_COLUMNS))
