"""The sender's time limit on ledger calls."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import cast

import pytest

from bot.delivery import Ledger
from bot.delivery.outage import Bounded
from bot.store import Store


async def test_a_bounded_ledger_answers_as_the_ledger_does(store: Store) -> None:
    await store.subscriptions.subscribe(1, chat_type="private", title=None)
    bounded = Bounded(store.ledger, timeout=5.0)
    assert await bounded.requeue_in_flight() == await store.ledger.requeue_in_flight()
    assert await bounded.next_due_at() is None
    assert await bounded.claim_due(10) == []


class Unanswering:
    """A database that stops answering without refusing: its calls never return."""

    async def next_due_at(self) -> datetime | None:
        await asyncio.Event().wait()
        return None

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        await asyncio.Event().wait()


async def test_a_ledger_call_that_outlasts_the_timeout_raises_timeout_error() -> None:
    bounded = Bounded(cast(Ledger, Unanswering()), timeout=0.05)
    with pytest.raises(TimeoutError):
        await bounded.next_due_at()
    with pytest.raises(TimeoutError):
        await bounded.mark_failed(1, "never recorded")
