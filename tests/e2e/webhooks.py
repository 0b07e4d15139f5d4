"""A bot serving its webhook on a free loopback port, and an httpx client in Telegram's place."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from bot.chat.app import build_application
from bot.chat.context import BriefApplication
from bot.config import Settings
from bot.digest import Digest
from bot.web import SECRET_HEADER, make_server, serve
from tests.botapi import BotApiDouble
from tests.e2e import settings_for

SECRET = "s3cret-test"
_update_ids = itertools.count(900001)
_message_ids = itertools.count(1)


@dataclass
class Webhook:
    """A bot serving its webhook, and a client in Telegram's place."""

    api: BotApiDouble
    application: BriefApplication
    settings: Settings
    client: httpx.AsyncClient

    async def post_update(
        self, update: dict[str, Any], secret: str | None = SECRET, path: str = "/telegram"
    ) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        return await self.client.post(path, json=update, headers=headers)

    async def say(self, chat_id: int, text: str, *, replies: int = 1) -> list[str]:
        """Post a user's message with the right secret; wait for the bot's replies."""
        before = len(self.api.messages(chat_id))
        response = await self.post_update(message_update(chat_id, text))
        assert response.status_code == 200
        messages = await self.api.wait_for_messages_async(chat_id, before + replies)
        return [message.visible_text for message in messages[before:]]


def message_update(chat_id: int, text: str) -> dict[str, Any]:
    """An Update with a private message, shaped as Telegram (and the double) sends it."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Alice", "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Alice"},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


def webhook_settings(api: BotApiDouble, tmp_path: Path, port: int, **overrides: Any) -> Settings:
    return settings_for(
        api,
        tmp_path / "state.sqlite3",
        mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret=SECRET,
        **overrides,
    )


async def wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()  # the error that stopped it
            raise AssertionError("the server stopped before it started")
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def client_until_stopped(
    server: uvicorn.Server, task: asyncio.Task[None], port: int
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``server`` (serving in ``task`` on ``port``) once it has started; on the
    way out, the server stopped as SIGTERM would."""
    try:
        await wait_started(server, task)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True  # what Uvicorn's SIGTERM handler does
        await task


@asynccontextmanager
async def served_bot(
    settings_at: Callable[[int], Settings], digest: Digest | None = None
) -> AsyncIterator[tuple[BriefApplication, Settings, httpx.AsyncClient]]:
    """Run :func:`serve` in this event loop on a free port, with ``settings_at(port)``: the
    application, its settings and a client of its server."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
        settings = settings_at(port)
        application = build_application(settings, digest=digest)
        server = make_server(application, settings)
        task = asyncio.create_task(serve(application, settings, server=server, sockets=[sock]))
        async with client_until_stopped(server, task, port) as client:
            yield application, settings, client


@asynccontextmanager
async def webhook_bot(
    api: BotApiDouble, tmp_path: Path, digest: Digest | None = None, **overrides: Any
) -> AsyncIterator[Webhook]:
    """The bot in webhook mode (see :func:`served_bot`), with Telegram's side of it."""

    def settings_at(port: int) -> Settings:
        return webhook_settings(api, tmp_path, port, **overrides)

    async with served_bot(settings_at, digest) as (application, settings, client):
        yield Webhook(api, application, settings, client)


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Serve any ASGI app on a free port, with a client for it."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        async with client_until_stopped(server, task, port) as client:
            yield client


# -- the webhook ----------------------------------------------------------------------------
