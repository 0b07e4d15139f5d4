"""``python -m bot console``: the real application, driven from a terminal.

The bot is built by the same composition root as on Telegram, but its HTTP layer is
:class:`ConsoleBotApi`, an in-process Bot API that prints what the bot sends instead of
sending it. Each line typed becomes a message update from a local user; a bare number
presses the button with that number under the last message that had buttons.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.chat.app import build_application, running
from bot.config import Settings
from bot.digest import Digest
from bot.markup import to_plain_text
from bot.render import Renderer

CONSOLE_TOKEN = "0:console"  # noqa: S105 - a placeholder: the console never reaches Telegram
CONSOLE_USER_ID = 1
BOT_USER = {"id": 0, "is_bot": True, "first_name": "Story Brief", "username": "StoryBriefBot"}
CONSOLE_USER = {"id": CONSOLE_USER_ID, "is_bot": False, "first_name": "You"}
QUIT_COMMANDS = {"/quit", "/exit"}


@dataclass
class Button:
    label: str
    data: str
    message: dict[str, Any]


class ConsoleBotApi(BaseRequest):
    """An in-process Bot API that answers like Telegram and prints what the bot sends."""

    def __init__(self, out: TextIO, *, colour: bool = False) -> None:
        self.out = out
        self.colour = colour
        self.buttons: list[Button] = []
        self._message_ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open: there is no connection."""

    async def shutdown(self) -> None:
        """Nothing to close: there is no connection."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call: ``url`` ends with the method's name."""
        api_method = url.rsplit("/", 1)[-1]
        parameters = request_data.parameters if request_data else {}
        if api_method == "getMe":
            return _ok(BOT_USER)
        if api_method in {"sendMessage", "editMessageText"}:
            return _ok(self._show(parameters, edited=api_method == "editMessageText"))
        if api_method == "answerCallbackQuery":
            if parameters.get("text"):
                self._print(f"({parameters['text']})")
            return _ok(True)
        if api_method in {"setMyCommands", "deleteMyCommands", "sendChatAction"}:
            return _ok(True)
        if api_method == "getChatMember":  # the console's only chat is private: its owner
            return _ok({"status": "creator", "user": CONSOLE_USER, "is_anonymous": False})
        body = {
            "ok": False,
            "error_code": 400,
            "description": f"Bad Request: {api_method} is not available in the console",
        }
        return 400, json.dumps(body).encode()

    def _show(self, parameters: dict[str, Any], *, edited: bool) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": parameters.get("message_id") or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": parameters["chat_id"], "type": "private", "first_name": "You"},
            "from": BOT_USER,
            "text": to_plain_text(str(parameters.get("text", ""))),
        }
        if "reply_markup" in parameters:
            message["reply_markup"] = parameters["reply_markup"]
        self._print(
            ("(edited)\n" if edited else "")
            + to_plain_text(str(parameters.get("text", "")), colour=self.colour)
        )
        rows = parameters.get("reply_markup", {}).get("inline_keyboard", [])
        if rows:
            self.buttons = []
            for row in rows:
                cells = []
                for cell in row:
                    self.buttons.append(
                        Button(cell["text"], cell.get("callback_data", ""), message)
                    )
                    cells.append(f"[{len(self.buttons)}] {cell['text']}")
                self._print("  " + "   ".join(cells))
        self._print("")
        return message

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


class ConsoleUser:
    """Turns typed lines into the updates Telegram would deliver for them."""

    def __init__(self, user_id: int = CONSOLE_USER_ID) -> None:
        self.user = CONSOLE_USER | {"id": user_id}
        self.chat = {"id": user_id, "type": "private", "first_name": "You"}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)

    def message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    def press(self, button: Button) -> dict[str, Any]:
        query = {
            "id": str(next(self._update_ids)),
            "from": self.user,
            "chat_instance": str(self.chat["id"]),
            "message": button.message,
            "data": button.data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}


async def run_console(
    settings: Settings,
    digest: Digest,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Talk to the bot from ``stdin`` until end of input or /quit."""
    renderer = Renderer()
    api = ConsoleBotApi(stdout, colour=stdout.isatty())
    application = build_application(
        settings, token=CONSOLE_TOKEN, digest=digest, renderer=renderer, request=api
    )
    user = ConsoleUser()
    interactive = stdin.isatty()
    async with running(application):
        # After the store opened: a bad BOT_DATABASE_URL shows its error, not a banner first.
        print(renderer.text("console_banner.txt", user_id=CONSOLE_USER_ID) + "\n", file=stdout)
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if text in QUIT_COMMANDS:
                break
            if not interactive:
                print(f"> {text}", file=stdout, flush=True)
            payload = user.message(text)
            if text.isdecimal() and 1 <= int(text) <= len(api.buttons):
                payload = user.press(api.buttons[int(text) - 1])
            await application.process_update(Update.de_json(payload, application.bot))
    return 0
