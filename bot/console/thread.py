"""The bot's thread: the application served on an event loop beside the terminal's reader."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Coroutine
from typing import Any

from bot.chat.app import running
from bot.chat.context import BriefApplication

logger = logging.getLogger(__name__)

INTERRUPT_RELAY_DELAY = 0.2
"""Seconds after a Ctrl-C the main thread has not seen before it is sent again."""
SHUTDOWN_TIMEOUT = 10.0
"""Seconds to wait for the bot to stop after the conversation ends; then leave anyway."""


class BotThread:
    """The application, started and served on an event loop in a thread of its own."""

    def __init__(self, application: BriefApplication) -> None:
        self.application = application
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="bot", daemon=True)
        self._stop = asyncio.Event()  # bound to the loop on first use, in the loop's thread
        self._serving: concurrent.futures.Future[None] | None = None
        self._started = False
        self.interrupted = threading.Event()
        """Set by the main thread as soon as Ctrl-C's KeyboardInterrupt reached it."""
        self._wakeup: tuple[int, int] | None = None
        self._previous_wakeup = -1

    def _run_loop(self) -> None:
        # The kernel hands Ctrl-C's SIGINT to any thread of the process that does not block
        # it. Given to this one, it would not interrupt the main thread's wait for a line:
        # Ctrl-C would seem ignored until the next key. The threads this one starts (the
        # database driver's) inherit the mask.
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        self._loop.run_forever()

    def start(self) -> None:
        """Start the application; raises what start-up raised (a store that cannot open)."""
        self._relay_interrupts()
        self._thread.start()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._serving = asyncio.run_coroutine_threadsafe(self._serve(started), self._loop)
        concurrent.futures.wait(
            [started, self._serving], return_when=concurrent.futures.FIRST_COMPLETED
        )
        if self._serving.done():
            self._serving.result()
        self._started = True

    def _relay_interrupts(self) -> None:
        """Repeat a Ctrl-C to the main thread until it has raised KeyboardInterrupt.

        CPython notices a signal in a blocking call only when the call fails with EINTR: a
        SIGINT that lands just before readline's select() (say, while it echoes a key) is
        noticed at the next key only. The signal module writes each signal's number to the
        wakeup fd; this thread reads it there and, if the main thread has not reacted a
        moment later, sends SIGINT to that thread again, where it interrupts the wait.
        """
        if not hasattr(signal, "pthread_kill") or threading.current_thread() is not (
            threading.main_thread()
        ):
            return
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._previous_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        self._wakeup = (read_fd, write_fd)
        self._loop.call_soon_threadsafe(self._loop.add_reader, read_fd, self._on_signal)

    def _on_signal(self) -> None:
        assert self._wakeup is not None
        with contextlib.suppress(BlockingIOError):
            numbers = os.read(self._wakeup[0], 512)
            if signal.SIGINT in numbers and not self.interrupted.is_set():
                self._loop.call_later(INTERRUPT_RELAY_DELAY, self._interrupt_main_thread)

    def _interrupt_main_thread(self) -> None:
        main = threading.main_thread().ident
        if not self.interrupted.is_set() and main is not None:
            signal.pthread_kill(main, signal.SIGINT)

    async def _serve(self, started: concurrent.futures.Future[None]) -> None:
        async with running(self.application):
            started.set_result(None)
            await self._stop.wait()

    def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the bot's loop and wait for it."""
        asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def stop(self) -> None:
        """Stop the application (its store closes) and the loop; give up after a while."""
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
        if self._serving is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            # A second Ctrl-C, or a stop that hangs: leave without waiting any longer.
            with contextlib.suppress(KeyboardInterrupt):
                concurrent.futures.wait([self._serving], SHUTDOWN_TIMEOUT)
            # A start-up error was raised by start(); one from stopping gets a log line.
            error = None
            if self._started and self._serving.done() and not self._serving.cancelled():
                error = self._serving.exception()
            if error is not None:
                logger.error("the bot stopped with an error", exc_info=error)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(SHUTDOWN_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()
            for fd in self._wakeup or ():
                os.close(fd)
