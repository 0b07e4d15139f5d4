"""Inline keyboards and their callback data (``section:NAME``, ``paragraph:N``).

Each kind of button has a pattern that routes its presses to its handler
(``CallbackQueryHandler(pattern=...)``); data that matches none is an old keyboard or forged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import SECTIONS, Labels

SECTION_PREFIX = "section:"
PARAGRAPH_PREFIX = "paragraph:"
SECTION_PATTERN = re.compile(f"^{SECTION_PREFIX}({'|'.join(map(re.escape, SECTIONS))})$")
"""The data of a section button that names a section."""
PARAGRAPH_PATTERN = re.compile(rf"^{PARAGRAPH_PREFIX}\d+$")
"""The data of a paragraph button; a number the article lacks is answered as /source N is."""
SECTION_COLUMNS = 2
PARAGRAPH_COLUMNS = 6


class SharedKeyboard(InlineKeyboardMarkup):
    """A keyboard built once and sent under many replies (see :class:`bot.render.DigestCache`).

    python-telegram-bot turns ``reply_markup`` into a dict (``to_dict``) for every request,
    walking every button: more CPU than the rest of our handler for a keyboard of paragraph
    buttons. Like every TelegramObject the keyboard cannot change once built, so its JSON is
    computed once, and each request gets a fresh copy of it.
    """

    __slots__ = ("_json",)

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        cached: str | None = getattr(self, "_json", None)
        if cached is None:
            cached = self._json = json.dumps(super().to_dict())
        result: dict[str, Any] = json.loads(cached)
        return result


def _rows(buttons: list[InlineKeyboardButton], columns: int) -> list[list[InlineKeyboardButton]]:
    """Buttons laid out ``columns`` to a row."""
    return [buttons[start : start + columns] for start in range(0, len(buttons), columns)]


def sections_keyboard(labels: Labels) -> InlineKeyboardMarkup:
    """The menu of sections shown by /start."""
    buttons = [
        InlineKeyboardButton(labels.sections[section], callback_data=SECTION_PREFIX + section)
        for section in SECTIONS
    ]
    return SharedKeyboard(_rows(buttons, SECTION_COLUMNS))


def paragraphs_keyboard(labels: Labels, numbers: Sequence[int]) -> InlineKeyboardMarkup | None:
    """One button per paragraph number: all of them under /source, the cited ones elsewhere."""
    buttons = [
        InlineKeyboardButton(labels.paragraph_button(n), callback_data=f"{PARAGRAPH_PREFIX}{n}")
        for n in numbers
    ]
    return SharedKeyboard(_rows(buttons, PARAGRAPH_COLUMNS)) if buttons else None
