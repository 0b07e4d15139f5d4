"""Clients that send a request slowly, a byte a second, or nothing at all, against the real
server (Uvicorn on a loopback port): each loses its connection once it has gone
``REQUEST_TIMEOUT`` without a request in hand, no handler is left waiting, nothing is logged
as an error, and Telegram's updates are answered meanwhile as ever. A request that has
arrived is never cut, however long its answer takes, and a kept-alive connection gets a
fresh clock for each request."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import inbound
from bot.digest import Digest
from bot.inbound import DeadlineH11Protocol
from bot.web import SECRET_HEADER
from tests.botapi import BotApiDouble
from tests.e2e.webhooks import SECRET, message_update, wait_started, webhook_bot

TIMEOUT = 2.0
"""The deadline in these tests (the bot's is :data:`bot.inbound.REQUEST_TIMEOUT`)."""
GIVE_UP = TIMEOUT + 8.0
"""Seconds a trickle goes on before the test calls the connection held for good."""
LATE = 1.5
"""Seconds past the deadline a close may come on a busy machine."""


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "REQUEST_TIMEOUT", TIMEOUT)


def post(path: str, body: bytes, *, keep_alive: bool = True, secret: str = SECRET) -> bytes:
    """The head of a POST of ``body`` (JSON) to ``path``, as Telegram sends it."""
    return (
        f"POST {path} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"{SECRET_HEADER}: {secret}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "\r\n"
    ).encode()


class Trickle:
    """A client on its own connection, sending bytes at a given pace."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.opened = time.monotonic()  # the server's clock starts about now

    @classmethod
    async def open(cls, port: int) -> Trickle:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> bytes:
        """The status line and headers of the next answer (these answers have no body)."""
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), GIVE_UP)

    async def exchange(self, request: bytes) -> bytes:
        """Send ``request`` at once; the status line and headers of its answer."""
        await self.send(request)
        return await self.answer()

    async def closed_after(self, since: float) -> float:
        """Wait, sending nothing, until the server closes: seconds from ``since``."""
        rest = await asyncio.wait_for(self.reader.read(), GIVE_UP)
        assert rest == b"", rest
        self.writer.close()
        return time.monotonic() - since

    async def until_closed(self, data: bytes, *, since: float | None = None) -> float:
        """Send ``data`` a byte a second until the server closes the connection, asserting
        it closes before the request is through and sends nothing: seconds from ``since``
        (the first byte when None)."""
        began = time.monotonic() if since is None else since
        for byte in data:
            try:
                self.writer.write(bytes([byte]))
                await self.writer.drain()
                chunk = await asyncio.wait_for(self.reader.read(4096), 1.0)
            except TimeoutError:
                assert time.monotonic() - began < GIVE_UP, "the connection was held"
                continue
            except ConnectionError:
                break
            assert chunk == b"", chunk  # closed, not answered
            break
        else:
            raise AssertionError("the whole request went through, a byte at a time")
        self.writer.close()
        return time.monotonic() - began


def on_time(seconds: float) -> bool:
    return TIMEOUT - 0.05 <= seconds <= TIMEOUT + LATE


# -- the bot's own server ---------------------------------------------------------------


async def test_a_request_arriving_a_byte_a_second_loses_its_connection_and_nothing_else(
    api: BotApiDouble, tmp_path: Path, digest: Digest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps(message_update(5001, "/summary")).encode()
    async with webhook_bot(api, tmp_path, digest) as bot:
        port = urlsplit(str(bot.client.base_url)).port
        assert port is not None
        # One client's first request comes whole and is answered; its next is slow.
        second = await Trickle.open(port)
        answered = await second.exchange(post("/telegram", body) + body)
        assert answered.startswith(b"HTTP/1.1 200")
        await api.wait_for_messages_async(5001, 1)
        silent, slow_head, slow_body = [await Trickle.open(port) for _ in range(3)]
        await slow_body.send(post("/telegram", body))  # the head at once, then the body slowly

        began = time.monotonic()
        trickles = asyncio.gather(
            silent.closed_after(silent.opened),
            slow_head.until_closed(post("/telegram", body) + body, since=slow_head.opened),
            slow_body.until_closed(body, since=slow_body.opened),
            second.until_closed(post("/telegram", body) + body),
        )
        # Meanwhile Telegram's updates are taken and answered as ever.
        replies = [await bot.say(5100 + n, "/help") for n in range(5)]
        served_meanwhile = time.monotonic() - began
        closed = await trickles

    assert all(on_time(seconds) for seconds in closed), closed
    assert all(reply for reply in replies)
    assert served_meanwhile < TIMEOUT
    assert len(api.messages(5001)) == 1  # the slow copies of the update were never taken
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "uvicorn", "starlette")]
    assert not [r for r in ours if r.levelno >= logging.WARNING or r.exc_info], [
        r.getMessage() for r in ours if r.levelno >= logging.WARNING or r.exc_info
    ]
    assert sum("without a request in hand" in r.getMessage() for r in ours) == 4
    print(
        "\nSlow clients: closed after "
        + ", ".join(f"{seconds:.2f} s" for seconds in closed)
        + f" (silent, slow head, slow body, slow second request; deadline {TIMEOUT:g} s);"
        f" 5 updates answered meanwhile in {served_meanwhile:.2f} s"
    )


# -- the protocol on its own, behind a small app ----------------------------------------


async def echo(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


async def slow(request: Request) -> Response:
    await request.body()
    await asyncio.sleep(TIMEOUT + 1)  # the request is in hand: no clock runs
    return Response(status_code=200)


async def refuse(request: Request) -> Response:
    return Response(status_code=403)  # answered before the body is read


@asynccontextmanager
async def served() -> AsyncIterator[int]:
    """A small app behind Uvicorn with :class:`DeadlineH11Protocol`, on a free port."""
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
            Route("/refuse", refuse, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", http=DeadlineH11Protocol
    )
    server = uvicorn.Server(config)
    with socket.create_server(("127.0.0.1", 0)) as sock:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            await wait_started(server, task)
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True
            await task


BODY = b'{"n": 1}'


async def test_an_answer_that_takes_longer_than_the_deadline_is_not_cut() -> None:
    async with served() as port:
        client = await Trickle.open(port)
        assert (await client.exchange(post("/slow", BODY) + BODY)).startswith(b"HTTP/1.1 200")
        client.writer.close()


async def test_each_request_on_a_kept_alive_connection_gets_its_own_clock() -> None:
    async with served() as port:
        client = await Trickle.open(port)
        began = time.monotonic()
        for _ in range(4):  # 4 requests 0.8 s apart: longer on one connection than a clock
            assert (await client.exchange(post("/echo", BODY) + BODY)).startswith(b"HTTP/1.1 200")
            await asyncio.sleep(0.8)
        assert time.monotonic() - began > TIMEOUT
        # A request arriving in parts within its own time is served too.
        await client.send(post("/echo", BODY) + BODY[:3])
        await asyncio.sleep(TIMEOUT / 2)
        assert (await client.exchange(BODY[3:])).startswith(b"HTTP/1.1 200")
        client.writer.close()


async def test_a_pipelined_request_that_arrives_in_part_is_cut() -> None:
    async with served() as port:
        client = await Trickle.open(port)
        # The first request whole, the head and a part of the second in the same write.
        await client.send(post("/echo", BODY) + BODY + post("/echo", BODY) + BODY[:3])
        assert (await client.answer()).startswith(b"HTTP/1.1 200")
        # The clock starts again when the first answer is sent, just before it was read here.
        assert TIMEOUT / 2 <= await client.closed_after(time.monotonic()) <= TIMEOUT + LATE


async def test_a_body_sent_after_its_answer_does_not_hold_the_connection() -> None:
    async with served() as port:
        client = await Trickle.open(port)
        await client.send(post("/refuse", BODY))
        assert (await client.answer()).startswith(b"HTTP/1.1 403")
        answered = time.monotonic()
        await client.send(BODY)  # the rest of the refused request, then silence
        assert await client.closed_after(answered) <= TIMEOUT + LATE
