"""Typed bot data and the callback context every handler receives."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.digest import Digest
from bot.render import Renderer


class BotData:
    """What every handler shares; built once by :func:`bot.chat.app.build_application`."""

    def __init__(self, settings: Settings, renderer: Renderer, digest: Digest) -> None:
        self.settings = settings
        self.renderer = renderer
        self.digest = digest
        """The digest being served; replaced whole, never edited in place."""
        self.background: set[asyncio.Task[None]] = set()
        """Tasks started by post_init (retries of start-up calls), cancelled at stop."""


def bind_bot_data(settings: Settings, renderer: Renderer, digest: Digest) -> type[BotData]:
    """A :class:`BotData` type whose no-argument constructor carries these services.

    python-telegram-bot instantiates ``bot_data`` itself, with no arguments; binding the
    services into a subclass keeps every attribute typed and set from the first update on.
    """

    class BoundBotData(BotData):
        def __init__(self) -> None:
            super().__init__(settings, renderer, digest)

    return BoundBotData


BriefContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
BriefApplication = Application[
    ExtBot[None], BriefContext, dict[Any, Any], dict[Any, Any], BotData, None
]
