"""The persistent state store: subscriptions, digest versions and the delivery ledger.

Telegram-free, and the same SQL on SQLite (one process) and PostgreSQL (several processes).
Where things live:

* :mod:`~bot.store.store`: :class:`Store`, which owns the engine and holds the rooms;
* :mod:`~bot.store.subscriptions`, :mod:`~bot.store.versions`, :mod:`~bot.store.ledger`,
  :mod:`~bot.store.questions` (questions the article did not answer): the rooms (the
  ledger's docstring tells the delivery state machine and its guarantees);
* :mod:`~bot.store.broadcasts`: what a publication sends, combined updates included;
* :mod:`~bot.store.records`: the frozen dataclasses the rooms hand out;
* :mod:`~bot.store.tables`: the tables; :mod:`~bot.store.schema`: their migrations;
* :mod:`~bot.store.engine`: connecting, the async drivers and SQLite's settings.
"""

from bot.store.ledger import DeliveryLedger
from bot.store.questions import UnansweredQuestions
from bot.store.records import (
    Announcement,
    BroadcastProgress,
    Delivery,
    Publication,
    SubscriberCounts,
    Subscription,
    Unanswered,
    Version,
)
from bot.store.schema import SCHEMA_HEAD, alembic_config
from bot.store.store import Store
from bot.store.subscriptions import Subscriptions
from bot.store.tables import BroadcastKind, VersionReason
from bot.store.versions import Versions

__all__ = [
    "SCHEMA_HEAD",
    "Announcement",
    "BroadcastKind",
    "BroadcastProgress",
    "Delivery",
    "DeliveryLedger",
    "Publication",
    "Store",
    "SubscriberCounts",
    "Subscription",
    "Subscriptions",
    "Unanswered",
    "UnansweredQuestions",
    "Version",
    "VersionReason",
    "Versions",
    "alembic_config",
]
