"""Typed bot data and the callback context every handler receives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.chat.transport import RateLimitArgs
from bot.config import Settings
from bot.delivery import DeliverySender
from bot.delivery.leadership import Leadership
from bot.digest import Digest
from bot.library import DigestLibrary
from bot.render import DigestCache, Renderer
from bot.store import Store


@dataclass
class Services:
    """What every handler shares; built once by :func:`bot.chat.app.build_application`."""

    settings: Settings
    renderer: Renderer
    store: Store
    library: DigestLibrary
    sender: DeliverySender | None = None
    """Set by build_application once the bot it sends with exists."""
    leadership: Leadership | None = None
    """Decides whether this process drains the ledger (one replica at a time)."""


class BotData:
    """``context.bot_data``: the services, and the tasks started beside the handlers."""

    def __init__(self, services: Services) -> None:
        self.settings = services.settings
        self.renderer = services.renderer
        self.store = services.store
        self.library = services.library
        self.services = services
        self.background: set[asyncio.Task[None]] = set()
        """Tasks started by post_init (the sender, retries of start-up calls), cancelled at stop."""

    @property
    def digest(self) -> Digest:
        """The digest being served right now."""
        return self.library.current

    @property
    def cache(self) -> DigestCache:
        """Messages and keyboards rendered from the digest being served (its ``digest``)."""
        return self.library.cache

    def wake_sender(self) -> None:
        """Something was published: the sender should look at the ledger now."""
        if self.services.sender is not None:
            self.services.sender.wake()


def bind_bot_data(services: Services) -> type[BotData]:
    """A :class:`BotData` type whose no-argument constructor carries ``services``.

    python-telegram-bot instantiates ``bot_data`` itself, with no arguments; binding the
    services into a subclass keeps every attribute typed and set from the first update on.
    """

    class BoundBotData(BotData):
        def __init__(self) -> None:
            super().__init__(services)

    return BoundBotData


BriefBot = ExtBot[RateLimitArgs]
"""The bot, with :class:`bot.chat.transport.SharedRate` as its rate limiter."""
BriefContext = CallbackContext[BriefBot, dict[Any, Any], dict[Any, Any], BotData]
BriefApplication = Application[
    BriefBot, BriefContext, dict[Any, Any], dict[Any, Any], BotData, None
]
