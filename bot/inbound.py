"""What the bot's HTTP server takes in: each request whole within a time, bodies as JSON
within a size.

Uvicorn bounds a connection only while it is idle between requests: a client that sends a
request one byte a second (a "slowloris") keeps its connection, and in the body its
handler, for as long as it likes, and a few thousand such clients use up the process's
file descriptors, which the bot also needs to reach Telegram and its database.
:class:`DeadlineH11Protocol` closes a connection that goes :data:`REQUEST_TIMEOUT` seconds
without a request in hand, so every request has that long to arrive, head and body,
counted from its first byte (or from the connection, for the first request). Telegram and
the story page send a few kilobytes at once, well within it.

:func:`read_json` reads a body for the webhook and the story page's API alike: JSON by its
``Content-Type``, at most ``limit`` bytes (stopping there, the rest unread), or
:class:`Refused` with the HTTP status and the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

import h11
from starlette.requests import ClientDisconnect, Request
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 10.0
"""Seconds a connection may go without a request in hand: a request's time to arrive."""
JSON_TYPE: Final = "application/json"


class DeadlineH11Protocol(H11Protocol):
    """Uvicorn's HTTP/1.1 protocol, closing a connection that goes :data:`REQUEST_TIMEOUT`
    seconds without a request in hand (``uvicorn.Config(http=...)``).

    A request is in hand once it has arrived whole (head and body) and until its answer is
    sent, however long that takes: then the clock is off. It runs from the connection, and
    starts again at the first byte of each request on a kept-alive connection, and when an
    answer is sent (an idle connection is Uvicorn's to close first, after its shorter
    keep-alive; this also covers the bytes of a request answered before it had arrived, and
    a pipelined request that arrives in part). The webhook and the page's API read a body
    as it comes: a handler that left it unread past Uvicorn's buffer would pause reading,
    and the clock with it would cut the request.
    """

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._restart_clock()

    def data_received(self, data: bytes) -> None:
        if self._idle():
            self._restart_clock()  # the first byte of the next request
        super().data_received(data)
        if self._request_in_hand():
            self._stop_clock()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request already buffered
        if not self.transport.is_closing() and not self._request_in_hand():
            self._restart_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _idle(self) -> bool:
        """Between requests, with nothing of the next one received yet (a head arriving in
        part leaves h11 idle with the bytes buffered: its clock must not restart per byte)."""
        return (
            self.conn.their_state is h11.IDLE
            and not self.conn.trailing_data[0]
            and (self.cycle is None or self.cycle.response_complete)
        )

    def _request_in_hand(self) -> bool:
        """A request has arrived whole and its answer is not sent yet."""
        return (
            self.cycle is not None
            and not self.cycle.response_complete
            and self.conn.their_state is not h11.SEND_BODY
        )

    def _restart_clock(self) -> None:
        self._stop_clock()
        self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self._request_in_hand():
            logger.info(
                "closed a connection that went %g s without a request in hand", REQUEST_TIMEOUT
            )
            self.transport.close()


class Refused(Exception):
    """A request the bot will not take: :attr:`status` is the HTTP status, the message the
    reason, shown to the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


async def read_json(request: Request, limit: int) -> Any:
    """The request's body parsed as JSON, or :class:`Refused`: 415 if it is not declared as
    JSON, 413 past ``limit`` bytes, 400 if it is not JSON or the client went away."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON_TYPE:
        raise Refused(415, f"send {JSON_TYPE}")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "bad Content-Length")
        if int(declared) > limit:
            raise Refused(413, "request body too large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, "request body too large")
    except ClientDisconnect:
        # Closed by the client, or by DeadlineH11Protocol for arriving too slowly: nobody
        # reads this answer, but the handler ends here rather than in a traceback.
        raise Refused(400, "the request did not arrive whole") from None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(400, "invalid JSON") from None
