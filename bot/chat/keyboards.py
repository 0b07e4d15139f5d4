"""Inline keyboards and their callback data (``section:NAME``, ``paragraph:N``)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import SECTIONS, Labels

SECTION_PREFIX = "section:"
PARAGRAPH_PREFIX = "paragraph:"
SECTION_COLUMNS = 2
PARAGRAPH_COLUMNS = 6


def _rows(buttons: list[InlineKeyboardButton], columns: int) -> list[list[InlineKeyboardButton]]:
    """Buttons laid out ``columns`` to a row."""
    return [buttons[start : start + columns] for start in range(0, len(buttons), columns)]


def sections_keyboard(labels: Labels) -> InlineKeyboardMarkup:
    """The menu of sections shown by /start."""
    buttons = [
        InlineKeyboardButton(labels.sections[section], callback_data=SECTION_PREFIX + section)
        for section in SECTIONS
    ]
    return InlineKeyboardMarkup(_rows(buttons, SECTION_COLUMNS))


def paragraphs_keyboard(labels: Labels, numbers: Sequence[int]) -> InlineKeyboardMarkup | None:
    """One button per paragraph number: all of them under /source, the cited ones elsewhere."""
    buttons = [
        InlineKeyboardButton(labels.paragraph_button(n), callback_data=f"{PARAGRAPH_PREFIX}{n}")
        for n in numbers
    ]
    return InlineKeyboardMarkup(_rows(buttons, PARAGRAPH_COLUMNS)) if buttons else None
