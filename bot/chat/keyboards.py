"""Inline keyboards and their callback data (``section:NAME``, ``paragraph:N``).

Each kind of button has a pattern that routes its presses to its handler
(``CallbackQueryHandler(pattern=...)``); data that matches none is an old keyboard or forged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

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


def story_button(labels: Labels, url: str, *, private: bool) -> InlineKeyboardButton:
    """The story page: a Mini App in a private chat; elsewhere, where Telegram allows no
    Mini App buttons, a link that opens it read-only in the browser."""
    if private:
        return InlineKeyboardButton(labels.read_story, web_app=WebAppInfo(url))
    return InlineKeyboardButton(labels.read_story, url=url)


def share_button(labels: Labels, section: str) -> InlineKeyboardButton:
    """Share a section into another chat: Telegram asks which, then runs ``@bot section``."""
    return InlineKeyboardButton(labels.share, switch_inline_query=section)


def sections_keyboard(
    labels: Labels, story: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup:
    """The menu of sections shown by /start, and the story page's button when it is served."""
    buttons = [
        InlineKeyboardButton(labels.sections[section], callback_data=SECTION_PREFIX + section)
        for section in SECTIONS
    ]
    rows = _rows(buttons, SECTION_COLUMNS)
    return SharedKeyboard([[story], *rows] if story is not None else rows)


def paragraphs_keyboard(
    labels: Labels,
    numbers: Sequence[int],
    extra: Sequence[InlineKeyboardButton] = (),
) -> InlineKeyboardMarkup | None:
    """One button per paragraph number: all of them under /source, the cited ones elsewhere;
    then ``extra`` (the story page, sharing) on a row of their own."""
    buttons = [
        InlineKeyboardButton(labels.paragraph_button(n), callback_data=f"{PARAGRAPH_PREFIX}{n}")
        for n in numbers
    ]
    rows = _rows(buttons, PARAGRAPH_COLUMNS)
    if extra:
        rows.append(list(extra))
    return SharedKeyboard(rows) if rows else None
