"""The Bot API double, instrumented for benchmarks.

:class:`BenchDouble` is :class:`tests.botapi.BotApiDouble` (every call still checked against
the Bot API spec and Telegram's HTML rules) with three additions:

* **Telegram's flood limits**, when ``enforce_limits`` is set: a ``sendMessage`` that would
  make a sliding one-second window hold more than :data:`FREE_LIMIT` ordinary messages, or
  more than :data:`PAID_LIMIT` messages in all when it passes ``allow_paid_broadcast``, is
  answered ``429 Too Many Requests`` with ``retry_after`` (whole seconds, at least 1, as
  Telegram gives it). The decision is taken when the request arrives, before the simulated
  latency, in arrival order.
* **Closed-loop users** (:meth:`BenchDouble.start_load`): each user sends a command, waits
  for the bot's reply, then sends the next one at once. The next command is queued from the
  server thread that stored the reply, so the harness adds no polling delay to a cycle.
  With ``depth`` above 1 each user keeps that many commands in flight, and when the double
  knows which reply answers which command (``replies``) it counts the replies that overtook
  an earlier command of the same chat: one command in flight per chat could never show it.
* **Memoised checks**: every call is still checked against the spec and Telegram's HTML
  rules, but each distinct text (and each distinct set of other parameters) only once. A
  benchmark sends the same few texts thousands of times, and the double's pure-Python HTML
  parser costs about 0.5 ms on a section of the digest against 0.05 ms on the baseline's
  one-liner: on the round trip of a bot that handles one update at a time, that would be
  charged to the bot under test. Memoised, the double answers every message in about the
  same time, as Telegram would.
* **Arrival times** of the first call of each method (:meth:`BenchDouble.first_arrival`):
  a long poll is recorded in :attr:`calls` only when it returns, its arrival is known here
  at once.

The listen backlog is raised too: hundreds of connections opened at once (a broadcast at
1000/s keeps 250 sends in flight) would overflow the default backlog of 5, and a dropped
SYN costs a one-second TCP retransmission that has nothing to do with the bot.
"""

from __future__ import annotations

import collections
import functools
import gc
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.botapi import BotApiDouble, Fault
from tests.botapi.html import ParsedHtml
from tests.botapi.server import Request, Response, _Server
from tests.botapi.spec import SPEC_PATH, BotApiSpec

FREE_LIMIT = 30
"""Messages per second Telegram lets a bot broadcast for free."""
PAID_LIMIT = 1000
"""Messages per second with ``allow_paid_broadcast`` (paid in Stars)."""
WINDOW = 1.0
LISTEN_BACKLOG = 1024


class _BenchServer(_Server):
    request_queue_size = LISTEN_BACKLOG


class _MemoSpec(BotApiSpec):
    """The spec, remembering the problems of each distinct call (chat ids aside: only their
    type is checked, and every subscriber has another)."""

    def __init__(self) -> None:
        super().__init__(SPEC_PATH)
        self._validated: dict[str, list[str]] = {}

    def validate(self, method: str, params: Mapping[str, Any]) -> list[str]:
        chat_id = params.get("chat_id")
        rest = {key: value for key, value in params.items() if key != "chat_id"}
        key = json.dumps([method, type(chat_id).__name__, rest], sort_keys=True, default=repr)
        problems = self._validated.get(key)
        if problems is None:
            problems = super().validate(method, params)
            self._validated[key] = problems
        return list(problems)


@functools.cache
def _memo_spec() -> _MemoSpec:
    return _MemoSpec()


@dataclass(frozen=True)
class Exchange:
    """One closed-loop request: a user's command and the bot's reply to it."""

    chat_id: int
    text: str
    sent: float
    """``time.monotonic()`` when the update was queued for the bot."""
    answered: float
    """When the bot's reply arrived at the double (before the simulated latency)."""

    @property
    def latency(self) -> float:
        return self.answered - self.sent


class BenchDouble(BotApiDouble):
    """The Bot API double with flood limits, closed-loop users and arrival times."""

    # A listen backlog for hundreds of connections opening at once.
    server_class = _BenchServer

    def __init__(self, token: str, *, latency: float = 0.0, enforce_limits: bool = False) -> None:
        super().__init__(token, latency=latency)
        self.spec = _memo_spec()
        self._text_checks: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        self._parsed: dict[str, ParsedHtml] = {}
        self.enforce_limits = enforce_limits
        self.refused: list[tuple[float, bool]] = []
        """(arrival, paid) of every sendMessage refused with 429 by the flood limits."""
        self._local = threading.local()
        self._limit_lock = threading.Lock()
        self._all_window: collections.deque[float] = collections.deque()
        self._free_window: collections.deque[float] = collections.deque()
        self._arrivals: dict[str, float] = {}
        # Closed-loop users (guarded by self._cond).
        self._script: Callable[[int, int], str] | None = None
        self._outstanding: dict[int, collections.deque[tuple[str, float]]] = {}
        self._turns: dict[int, int] = {}
        self._command_of_reply: dict[str, str] = {}
        self._load_until = 0.0
        self._asks_left: int | None = None
        self.exchanges: list[Exchange] = []
        self.stray_replies = 0
        """Messages to a load user that answered no outstanding command."""
        self.out_of_order = 0
        """Replies that answered a command while an earlier command of that chat waited."""
        self.ordered_replies = 0
        """Replies whose command was known, so that their order could be checked."""
        self.counted_prefix = "🔔"
        """Messages whose text starts with this (updates to subscribers) are counted here:"""
        self.counted: collections.Counter[int] = collections.Counter()
        """How many such messages each chat received (answered 200)."""
        self.counted_total = 0

    def __enter__(self) -> BenchDouble:
        self.start()
        return self

    # -- arrival times and flood limits -------------------------------------------------

    def first_arrival(self, method: str) -> float | None:
        """``time.monotonic()`` when the first call of ``method`` arrived; None before it."""
        with self._limit_lock:
            return self._arrivals.get(method.lower())

    def _handle(self, request: Request) -> Response:
        method, received = request.method, request.received
        with self._limit_lock:
            self._arrivals.setdefault(method, received)
        self._local.received = received
        self._local.retry_after = None
        if self.enforce_limits and method == "sendmessage":
            self._local.retry_after = self._admit(request)
        return super()._handle(request)

    def _admit(self, request: Request) -> int | None:
        """None if ``request`` (a message) is within the limits on arrival, else retry_after."""
        received = request.received
        try:
            params = request.params()
        except ValueError:
            return None  # the double itself answers 400 to what it cannot parse
        paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
        with self._limit_lock:
            for window in (self._all_window, self._free_window):
                while window and window[0] <= received - WINDOW:
                    window.popleft()
            window, limit = (
                (self._all_window, PAID_LIMIT) if paid else (self._free_window, FREE_LIMIT)
            )
            if len(window) >= limit:
                self.refused.append((received, paid))
                # Telegram answers whole seconds; the window frees up when its oldest leaves.
                return max(1, math.ceil(window[0] + WINDOW - received))
            self._all_window.append(received)
            if not paid:
                self._free_window.append(received)
        return None

    def _take_fault(self, method: str, params: Any) -> Fault | None:
        retry_after = getattr(self._local, "retry_after", None)
        if retry_after is not None and method == "sendMessage":
            return Fault(method="sendMessage", status=429, retry_after=retry_after)
        return super()._take_fault(method, params)

    # -- memoised checks ---------------------------------------------------------------

    def _check_text(self, method: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        text = params.get("text")
        if not isinstance(text, str):
            return super()._check_text(method, params)
        key = (method, text, str(params.get("parse_mode")))
        notes = self._text_checks.get(key)
        if notes is None:
            notes = super()._check_text(method, params)
            self._text_checks[key] = notes
        return list(notes)

    def _parse_text(self, params: Mapping[str, Any]) -> ParsedHtml:
        text, parse_mode = params.get("text"), params.get("parse_mode")
        if not (isinstance(parse_mode, str) and parse_mode.upper() == "HTML"):
            return super()._parse_text(params)
        # Shared between stored messages: the double never changes a ParsedHtml in place.
        key = str(text)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = super()._parse_text(params)
            self._parsed[key] = parsed
        return parsed

    # -- closed-loop users --------------------------------------------------------------

    def start_load(
        self,
        users: Sequence[int],
        script: Callable[[int, int], str],
        until: float,
        *,
        depth: int = 1,
        replies: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> None:
        """Each chat in ``users`` sends ``script(chat, turn)``, then its next command as
        soon as the bot has answered, until ``time.monotonic()`` passes ``until``.

        ``depth``: commands each chat keeps in flight. ``replies``: the text of the reply to
        each command, so that a reply is matched to its own command and one that overtakes
        an earlier command of its chat is counted in :attr:`out_of_order`. Without it a
        reply answers the chat's oldest command. ``limit``: commands sent in all, at most.
        """
        with self._cond:
            self._script = script
            self._load_until = until
            self._asks_left = limit
            self._command_of_reply = {text: command for command, text in (replies or {}).items()}
            for chat_id in users:
                self._turns[chat_id] = 0
                self._outstanding[chat_id] = collections.deque()
                for _ in range(depth):
                    if self._asks_left == 0:
                        break
                    self._ask(chat_id)

    def stop_load(self) -> None:
        """No new commands; the ones outstanding may still be answered."""
        with self._cond:
            self._load_until = 0.0

    def outstanding(self) -> int:
        """Commands sent and not answered yet."""
        with self._cond:
            return sum(len(waiting) for waiting in self._outstanding.values())

    def _ask(self, chat_id: int) -> None:
        # Called with self._cond held.
        assert self._script is not None
        if self._asks_left is not None:
            self._asks_left -= 1
        turn = self._turns[chat_id]
        self._turns[chat_id] = turn + 1
        text = self._script(chat_id, turn)
        self._outstanding[chat_id].append((text, time.monotonic()))
        self.send_text(chat_id, text)

    def _answered(self, chat_id: int, reply: str) -> tuple[str, float] | None:
        """The command ``reply`` answers, taken off the chat's outstanding ones (lock held)."""
        waiting = self._outstanding.get(chat_id)
        if not waiting:
            return None
        command = self._command_of_reply.get(reply)
        if command is not None:
            self.ordered_replies += 1
            for position, (text, sent) in enumerate(waiting):
                if text == command:
                    if position:
                        self.out_of_order += 1
                    del waiting[position]
                    return text, sent
            return None
        return waiting.popleft()

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        result = super()._send_message(params)
        chat_id = params.get("chat_id")
        if str(params.get("text", "")).startswith(self.counted_prefix):
            with self._cond:
                self.counted[int(result["chat"]["id"])] += 1
                self.counted_total += 1
            return result  # an update to a subscriber answers none of its commands
        if not isinstance(chat_id, int) or chat_id not in self._turns:
            return result
        received = float(getattr(self._local, "received", time.monotonic()))
        with self._cond:
            asked = self._answered(chat_id, str(params.get("text", "")))
            if asked is None:
                self.stray_replies += 1
                return result
            text, sent = asked
            self.exchanges.append(Exchange(chat_id, text, sent, received))
            if time.monotonic() < self._load_until and self._asks_left != 0:
                self._ask(chat_id)
        return result


@contextmanager
def harness_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process (the double's) while a bot is measured.

    The double keeps a record of every call; a full collection over them stalls every one
    of its threads for tens of milliseconds, a pause both bots would see in their latency
    tails without either causing it. Its records are plain lists and dicts, freed by
    reference counting: nothing piles up meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
