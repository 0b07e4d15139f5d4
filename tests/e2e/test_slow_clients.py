"""Clients that send a request slowly, a byte a second, or nothing at all, against the real
server (Uvicorn on a loopback port): each loses its connection once its request has taken
``REQUEST_TIMEOUT`` to arrive, no handler is left waiting, nothing is logged as an error,
and Telegram's updates are answered meanwhile as ever."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot import inbound
from bot.digest import Digest
from bot.web import SECRET_HEADER
from tests.botapi import BotApiDouble
from tests.e2e.webhooks import SECRET, Webhook, message_update, webhook_bot

TIMEOUT = 2.0
"""The deadline in these tests (the bot's is :data:`bot.inbound.REQUEST_TIMEOUT`)."""
GIVE_UP = TIMEOUT + 8.0
"""Seconds a trickle goes on before the test calls the connection held for good."""


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "REQUEST_TIMEOUT", TIMEOUT)


def update_request(body: bytes, *, keep_alive: bool = True) -> bytes:
    """The head of Telegram's POST of ``body`` to the webhook."""
    return (
        "POST /telegram HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"{SECRET_HEADER}: {SECRET}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "\r\n"
    ).encode()


class Trickle:
    """A client on its own connection, sending bytes at a given pace."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, bot: Webhook) -> Trickle:
        port = urlsplit(str(bot.client.base_url)).port
        assert port is not None
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def exchange(self, request: bytes) -> bytes:
        """Send ``request`` at once; the status line and headers of its answer."""
        await self.send(request)
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)

    async def until_closed(self, data: bytes, pace: float = 1.0) -> tuple[float, bytes]:
        """Send ``data`` a byte every ``pace`` seconds until the server closes the
        connection: the seconds that took, and what the server sent (asserting it closed)."""
        began = time.monotonic()
        received = b""
        for byte in data:
            try:
                self.writer.write(bytes([byte]))
                await self.writer.drain()
                chunk = await asyncio.wait_for(self.reader.read(4096), pace)
            except TimeoutError:
                assert time.monotonic() - began < GIVE_UP, "the connection was held"
                continue
            except ConnectionError:
                break
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError("the whole request went through, a byte at a time")
        self.writer.close()
        return time.monotonic() - began, received


async def test_a_request_arriving_a_byte_a_second_loses_its_connection_and_nothing_else(
    api: BotApiDouble, tmp_path: Path, digest: Digest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps(message_update(5001, "/summary")).encode()
    async with webhook_bot(api, tmp_path, digest) as bot:
        # One client's first request comes whole and is answered; its next is slow.
        second = await Trickle.open(bot)
        answered = await second.exchange(update_request(body) + body)
        assert answered.startswith(b"HTTP/1.1 200")
        await api.wait_for_messages_async(5001, 1)
        silent, slow_head, slow_body = [await Trickle.open(bot) for _ in range(3)]
        await slow_body.send(update_request(body))  # the head at once, then the body slowly

        async def silent_until_closed() -> tuple[float, bytes]:
            began = time.monotonic()
            closing = await asyncio.wait_for(silent.reader.read(), GIVE_UP)
            silent.writer.close()
            return time.monotonic() - began, closing

        began = time.monotonic()
        trickles = asyncio.gather(
            silent_until_closed(),
            slow_head.until_closed(update_request(body) + body),
            slow_body.until_closed(body),
            second.until_closed(update_request(body) + body),
        )
        # Meanwhile Telegram's updates are taken and answered as ever.
        replies = [await bot.say(5100 + n, "/help") for n in range(5)]
        served_meanwhile = time.monotonic() - began
        results = await trickles

    for seconds, received in results:
        assert received == b""  # closed, not answered: nothing of them reached the bot
        assert TIMEOUT - 0.1 <= seconds <= TIMEOUT + 1.5, seconds
    assert all(reply for reply in replies)
    assert served_meanwhile < TIMEOUT
    assert len(api.messages(5001)) == 1  # the slow copies of the update were never taken
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "uvicorn", "starlette")]
    assert not [r for r in ours if r.levelno >= logging.WARNING or r.exc_info], [
        r.getMessage() for r in ours if r.levelno >= logging.WARNING or r.exc_info
    ]
    assert sum("took over" in r.getMessage() for r in ours) == 4
    print(
        "\nSlow clients: closed after "
        + ", ".join(f"{seconds:.2f} s" for seconds, _ in results)
        + f" (silent, slow head, slow body, slow second request; deadline {TIMEOUT:g} s);"
        f" 5 updates answered meanwhile in {served_meanwhile:.2f} s"
    )


async def test_a_request_in_parts_within_the_deadline_is_served(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    body = json.dumps(message_update(5201, "/help")).encode()
    async with webhook_bot(api, tmp_path, digest) as bot:
        client = await Trickle.open(bot)
        await client.send(update_request(body, keep_alive=False) + body[:10])
        await asyncio.sleep(TIMEOUT / 2)
        answer = await client.exchange(body[10:])
        assert answer.startswith(b"HTTP/1.1 200")
        await api.wait_for_messages_async(5201, 1)
        client.writer.close()
