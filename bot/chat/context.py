"""The services every handler shares (``context.bot_data``) and the typed callback context."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.chat.background import BackgroundTasks
from bot.chat.transport import PollingRequest, RateLimitArgs
from bot.config import Settings
from bot.delivery import DeliverySender
from bot.delivery.leadership import Leadership
from bot.digest import Digest
from bot.library import DigestLibrary
from bot.render import DigestCache, Renderer
from bot.store import Store


@dataclass(frozen=True, eq=False)
class Services:
    """What every handler shares, built once by :func:`bot.chat.app.build_application`."""

    settings: Settings
    renderer: Renderer
    store: Store
    library: DigestLibrary
    sender: DeliverySender
    """Drains the delivery ledger while this process holds the lead."""
    leadership: Leadership
    """Decides whether this process drains the ledger (one replica at a time)."""
    background: BackgroundTasks
    """The sender and the retried start-up calls, started by post_init, stopped by post_stop."""
    updates_request: PollingRequest | None
    """The bot's getUpdates request, which keeps each answer so that polling can skip
    an update python-telegram-bot cannot read (None: the console's in-process API)."""

    @property
    def digest(self) -> Digest:
        """The digest being served right now."""
        return self.library.current

    @property
    def cache(self) -> DigestCache:
        """Messages and keyboards rendered from the digest being served (its ``digest``)."""
        return self.library.cache


def bot_data_type(services: Services) -> type[Services]:
    """The type python-telegram-bot instantiates, with no arguments, as ``bot_data``.

    Its instance holds the very objects of ``services``, so ``context.bot_data`` is typed
    and complete from the first update, and there is one set of services in the process.
    """

    class BoundServices(Services):
        def __init__(self) -> None:
            parts = {field.name: getattr(services, field.name) for field in fields(Services)}
            super().__init__(**parts)

    return BoundServices


BriefBot = ExtBot[RateLimitArgs]
"""The bot, with :class:`bot.chat.transport.SharedRate` as its rate limiter."""
BriefContext = CallbackContext[BriefBot, dict[Any, Any], dict[Any, Any], Services]
BriefApplication = Application[
    BriefBot, BriefContext, dict[Any, Any], dict[Any, Any], Services, None
]
