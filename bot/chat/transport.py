"""The delivery sender's transport over python-telegram-bot: Telegram's answers, classified,
and the HTTP layer that lets hundreds of sends be in flight at once."""

from __future__ import annotations

import functools
import math
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram import InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot import metrics
from bot.delivery import (
    ChatMoved,
    ChatUnreachable,
    Keyboard,
    PermanentFailure,
    RetryLater,
    SendLimiter,
    TransientFailure,
)

RateLimitArgs = dict[str, Any]
"""What a call passes python-telegram-bot's rate limiter (``rate_limit_args``)."""
PACED: RateLimitArgs = {"paced": True}
"""The call already waited for its slot (the sender's); do not count it again."""
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})
"""The Bot API methods the bot calls that count against Telegram's messages per second."""

# BadRequest descriptions that mean the chat itself is gone, not that the message was wrong.
_GONE = ("chat not found", "user is deactivated", "group chat was deactivated", "peer_id_invalid")


class TelegramTransport:
    """Sends one message to one chat and maps Telegram's errors to delivery outcomes."""

    def __init__(self, bot: ExtBot[RateLimitArgs], *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast
        """Pass allow_paid_broadcast: up to ``FloodLimit.PAID_MESSAGES_PER_SECOND`` messages a
        second instead of ``FloodLimit.MESSAGES_PER_SECOND``, at a price in Stars."""

    async def send(
        self, chat_id: int, text: str, *, silent: bool = False, keyboard: Keyboard | None = None
    ) -> int:
        """Send one message (``silent``: without a sound; ``keyboard``: inline buttons under
        it); return its id, or raise what the answer means for delivery."""
        try:
            with metrics.time_send():
                message = await self.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    allow_paid_broadcast=True if self.paid_broadcast else None,
                    disable_notification=True if silent else None,
                    reply_markup=(
                        InlineKeyboardMarkup.de_json(dict(keyboard), self.bot) if keyboard else None
                    ),
                    rate_limit_args=PACED,
                )
        except RetryAfter as error:
            metrics.count_flood_wait()
            raise RetryLater(retry_after_seconds(error)) from error
        except Forbidden as error:
            raise ChatUnreachable(error.message) from error
        except ChatMigrated as error:
            # The group became a supergroup with a new id; the old id will never work again.
            raise ChatMoved(error.new_chat_id) from error
        except BadRequest as error:
            if any(gone in error.message.lower() for gone in _GONE):
                raise ChatUnreachable(error.message) from error
            raise PermanentFailure(error.message) from error
        except NetworkError as error:  # after its subclasses: timeouts, 5xx, lost connections
            raise TransientFailure(error.message) from error
        except TelegramError as error:
            # Nothing says this message is at fault (an unexpected answer about the bot or
            # the server): worth a few more tries before giving up on it.
            raise TransientFailure(error.message) from error
        return message.message_id


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds (an int before PTB 23, a timedelta after)."""
    retry_after = error.retry_after
    return retry_after if isinstance(retry_after, int | float) else retry_after.total_seconds()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context every connection pool of the bot uses (httpx's defaults).

    Each pool would otherwise read the CA bundle again, costing start-up time and memory
    per pool, and a paid broadcast uses dozens of pools (tests/benchmarks/README.md).
    """
    return httpx.create_ssl_context()


class PollingRequest(HTTPXRequest):
    """The request for getUpdates: PTB's default (one connection), with the shared TLS
    context, keeping the last answer as parsed.

    python-telegram-bot reads a getUpdates answer whole: one update it cannot read fails
    the call, and the ones after it with it. From the answer kept here polling can read the
    updates one by one and skip the one that fails (``bot/chat/polling.py``).
    """

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1, httpx_kwargs={"verify": tls_context()})
        self.last_answer: dict[str, Any] | None = None
        """The last answer, parsed (None: none yet, or cleared by the poller before a call)."""

    # An instance method where PTB has a static one: PTB calls it on the request.
    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """Parse as PTB does (its hook for the JSON of every answer), and keep the result."""
        self.last_answer = HTTPXRequest.parse_json_payload(payload)
        return self.last_answer


CONNECTIONS_PER_POOL = 8
"""Connections in each of :class:`PooledRequest`'s pools."""


class PooledRequest(BaseRequest):
    """Bot API requests over several small HTTPX connection pools instead of one big one.

    httpx's pool looks through every connection it holds to place each request and to
    release it, so the cost of a request grows with the pool: with 250 requests in flight
    through one pool of 256 (PTB's default), that search is milliseconds of CPU per request
    and caps a broadcast well below ``FloodLimit.PAID_MESSAGES_PER_SECOND``. Each request
    goes to the pool with the fewest requests in flight, so no pool queues while another is
    idle.
    """

    def __init__(self, connections: int, *, per_pool: int = CONNECTIONS_PER_POOL) -> None:
        pools = max(1, math.ceil(connections / per_pool))
        self._pools = [
            HTTPXRequest(connection_pool_size=per_pool, httpx_kwargs={"verify": tls_context()})
            for _ in range(pools)
        ]
        self._in_flight = [0] * pools

    @property
    def pools(self) -> int:
        """How many connection pools there are."""
        return len(self._pools)

    @property
    def in_flight(self) -> list[int]:
        """How many requests each pool has in flight now."""
        return list(self._in_flight)

    @property
    def read_timeout(self) -> float | None:
        """The pools' default read timeout (the same for all)."""
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        """Initialise every pool."""
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        """Close every pool's connections."""
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send the request through the least busy pool (timeouts as PTB passes them)."""
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            return await self._pools[index].do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        finally:
            self._in_flight[index] -= 1


class SharedRate(BaseRateLimiter[RateLimitArgs]):
    """Counts the bot's other messages (replies, edits) against the broadcast's limiter.

    python-telegram-bot calls this for every Bot API request. The sender's own sends come
    with :data:`PACED` and pass straight through. Any other message is sent at once (a
    user waits for it) and then:

    * takes up a slot of the limiter: the broadcast's next slot moves back, so over time
      replies and broadcast together keep to the rate (a burst of replies can still top a
      second that the broadcast had filled: hence a default rate below
      ``FloodLimit.MESSAGES_PER_SECOND``);
    * starts its chat's one-second gap, so an update does not follow a reply too closely;
    * a 429 on it pauses the broadcast too.

    Replies handled by another replica than the leader are not counted here.
    """

    def __init__(self, limiter: SendLimiter) -> None:
        self.limiter = limiter

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Count a message not paced by the sender, then make the request."""
        if endpoint not in MESSAGE_METHODS or (rate_limit_args or {}).get("paced"):
            return await callback(*args, **kwargs)
        self.limiter.take_unpaced()
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            # Flood control for the bot as a whole: the broadcast waits too.
            self.limiter.pause(retry_after_seconds(error))
            raise
        finally:
            chat_id = data.get("chat_id")
            if isinstance(chat_id, int):
                self.limiter.sent(chat_id)  # an update to this chat waits its second too
