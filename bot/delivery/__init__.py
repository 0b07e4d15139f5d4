"""Delivery of digest updates to subscribers (Telegram-free).

The :mod:`bot.store` ledger holds one row per (broadcast, chat); :class:`DeliverySender`
drains it through a :class:`Transport` at the pace :class:`SendLimiter` allows. The
transport reports Telegram's answers as the exceptions below, so this package never
imports Telegram:

``DeliveryError``                 base of what a transport may raise
├── ``RetryLater``                 flood control (429): pause everyone for ``after`` seconds
├── ``ChatUnreachable``            the bot was blocked or the chat is gone (403, chat not found)
├── ``ChatMoved``                  the group became a supergroup with a new id: follow it
├── ``TransientFailure``           network trouble or a 5xx: retry with backoff
└── ``PermanentFailure``           any other refusal: record it, do not retry
"""

from bot.delivery.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)
from bot.delivery.limiter import SendLimiter
from bot.delivery.ports import Keyboard, Ledger, Transport
from bot.delivery.sender import DeliverySender

__all__ = [
    "ChatMoved",
    "ChatUnreachable",
    "DeliveryError",
    "DeliverySender",
    "Keyboard",
    "Ledger",
    "PermanentFailure",
    "RetryLater",
    "SendLimiter",
    "TransientFailure",
    "Transport",
]
