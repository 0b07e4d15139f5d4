"""Tasks that run beside the handlers (the delivery sender, retried start-up calls)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundTasks:
    """Starts tasks beside the handlers, logs the ones that die, and stops them all at once."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` until :meth:`stop`; log it if it dies of an error."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def stop(self, *, finishing: str, grace: float) -> None:
        """Give the tasks named ``finishing`` ``grace`` seconds to end, then cancel them all."""
        ending = [task for task in self._tasks if task.get_name() == finishing]
        if ending:
            await asyncio.wait(ending, timeout=grace)
        tasks = list(self._tasks)  # the others, and any that overran their time
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    # Without this a background task that dies would stay silent until garbage collection.
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s died", task.get_name(), exc_info=task.exception())
