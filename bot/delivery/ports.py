"""What the sender needs of the world, as protocols: the ledger it drains and the transport
it sends with. :class:`bot.store.DeliveryLedger` and :class:`bot.chat.transport.
TelegramTransport` are the real ones; the tests give doubles of their own. What they pass
around are the store's records, under the names the sender knows them by."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.store.records import Announcement, Delivery

Keyboard = Mapping[str, Any]
"""An inline keyboard as the Bot API's JSON: ``{"inline_keyboard": [[button, ...], ...]}``."""
Claimed = Delivery
"""A delivery handed to the sender by the ledger (the store's record: the sender reads its
fields, and a double of the ledger hands out the same record)."""
Message = Announcement
"""A broadcast's message: its parts, and the keyboard under the last."""


class Ledger(Protocol):
    """What the sender needs of the delivery ledger: :class:`bot.store.DeliveryLedger`.

    The composition root hands it the store's ``ledger``; tests hand it doubles.
    """

    async def claim_due(self, limit: int, now: datetime | None = None) -> Sequence[Claimed]: ...
    async def mark_sent_many(self, sent: Sequence[tuple[int, int]]) -> None: ...
    async def mark_blocked(self, delivery_id: int, error: str) -> None: ...
    async def mark_failed(self, delivery_id: int, error: str) -> None: ...
    async def retry_later(
        self, delivery_id: int, *, at: datetime, error: str, count_attempt: bool = True
    ) -> None: ...
    async def requeue_in_flight(self) -> int: ...
    async def still_due_among(self, delivery_ids: Collection[int]) -> set[int]: ...
    async def release(self, claimed: Collection[tuple[int, datetime]]) -> None: ...
    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None: ...
    async def broadcast_message(self, broadcast_id: int) -> Message: ...
    async def next_due_at(self) -> datetime | None: ...


class Transport(Protocol):
    """Sends one message to a chat; returns its message id or raises a DeliveryError."""

    async def send(
        self, chat_id: int, text: str, *, silent: bool = False, keyboard: Keyboard | None = None
    ) -> int: ...
