"""The in-process Bot API: answers the bot as Telegram would and shows what it sends.

It also turns what the user types, a line or a button's number, into the updates Telegram
would deliver for them.
"""

from __future__ import annotations

import html
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.chat.keyboards import PARAGRAPH_PREFIX
from bot.console.layout import choices_table
from bot.console.screen import Screen
from bot.markup import to_plain_text
from bot.render import Renderer

CONSOLE_TOKEN = "0:console"  # noqa: S105 - a placeholder: the console never reaches Telegram
CONSOLE_USER_ID = 1
BOT_USER = {"id": 0, "is_bot": True, "first_name": "Story Brief", "username": "StoryBriefBot"}
CONSOLE_USER = {"id": CONSOLE_USER_ID, "is_bot": False, "first_name": "You"}


@dataclass(frozen=True)
class Choice:
    """A button the user can press by typing ``key``.

    ``data`` is the button's callback data; for a Share button, ``inline:`` and the query it
    runs; for a link or a Mini App, ``link:`` and its address.
    """

    key: int
    label: str
    data: str
    message: dict[str, Any]


INLINE_CHOICE, LINK_CHOICE = "inline:", "link:"


def _choice_data(button: dict[str, Any]) -> str:
    if "switch_inline_query" in button:
        return INLINE_CHOICE + str(button["switch_inline_query"])
    url = button.get("url") or (button.get("web_app") or {}).get("url")
    if url:
        return LINK_CHOICE + str(url)
    return str(button.get("callback_data", ""))


def choice_keys(buttons: Sequence[dict[str, Any]]) -> list[int]:
    """The number that presses each button: a paragraph's own number for its button, the
    others numbered from 1 in reading order, skipping the paragraphs' numbers."""
    paragraphs = [_paragraph_number(button) for button in buttons]
    taken = {number for number in paragraphs if number is not None}
    free = (number for number in itertools.count(1) if number not in taken)
    return [number if number is not None else next(free) for number in paragraphs]


def _paragraph_number(button: dict[str, Any]) -> int | None:
    data = str(button.get("callback_data", ""))
    number = data.removeprefix(PARAGRAPH_PREFIX)
    return int(number) if data.startswith(PARAGRAPH_PREFIX) and number.isdecimal() else None


class ConsoleBotApi(BaseRequest):
    """An in-process Bot API that answers like Telegram and shows what the bot sends."""

    def __init__(self, screen: Screen, renderer: Renderer) -> None:
        self.screen = screen
        self.renderer = renderer
        self.choices: dict[int, Choice] = {}
        """The buttons under the newest message that has any, by the number that presses them."""
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
                self.screen.note(f"({parameters['text']})")
            return _ok(True)
        if api_method == "answerInlineQuery":
            self._show_cards(parameters)
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
        text = str(parameters.get("text", ""))
        message: dict[str, Any] = {
            "message_id": parameters.get("message_id") or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": parameters["chat_id"], "type": "private", "first_name": "You"},
            "from": BOT_USER,
            "text": to_plain_text(text),
        }
        if "reply_markup" in parameters:
            message["reply_markup"] = parameters["reply_markup"]
        # One write: a message that arrives at the prompt redraws the prompt once, below it.
        shown = (
            [self.screen.format_note(self.renderer.text("console_edited.txt"))] if edited else []
        )
        shown.append(self.screen.format(text))
        rows = parameters.get("reply_markup", {}).get("inline_keyboard", [])
        if rows:
            shown += self._choices(rows, message)
        self.screen.write("\n".join(shown) + "\n")
        return message

    def _show_cards(self, parameters: dict[str, Any]) -> None:
        """What a Share button offers in Telegram: the inline results, each card as sent."""
        results = parameters.get("results", [])
        if isinstance(results, str):
            results = json.loads(results)
        shown = [
            self.screen.format_note(self.renderer.text("console_cards.txt", count=len(results)))
        ]
        for result in results:
            content = result.get("input_message_content", {})
            shown.append(self.screen.format(f"<b>{html.escape(str(result.get('title', '')))}</b>"))
            shown.append(self.screen.format(str(content.get("message_text", ""))))
        self.screen.write("\n".join(shown) + "\n")

    def _choices(self, rows: list[list[dict[str, Any]]], message: dict[str, Any]) -> list[str]:
        """Show the buttons as numbered choices, which they are from now on."""
        keys = iter(choice_keys([button for row in rows for button in row]))
        self.choices = {}
        table: list[list[tuple[str, str]]] = []
        for row in rows:
            table.append([])
            for button in row:
                choice = Choice(next(keys), button["text"], _choice_data(button), message)
                self.choices[choice.key] = choice
                table[-1].append((f"[{choice.key}]", choice.label))
        return [
            choices_table(table, self.screen.width(), self.screen.styled),
            self.screen.format_note(self.renderer.text("console_choices.txt")),
        ]


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

    def press(self, choice: Choice) -> dict[str, Any]:
        if choice.data.startswith(INLINE_CHOICE):
            # Telegram would ask for a chat, then offer the cards there: show them here.
            inline = {
                "id": str(next(self._update_ids)),
                "from": self.user,
                "query": choice.data.removeprefix(INLINE_CHOICE),
                "offset": "",
            }
            return {"update_id": next(self._update_ids), "inline_query": inline}
        query = {
            "id": str(next(self._update_ids)),
            "from": self.user,
            "chat_instance": str(self.chat["id"]),
            "message": choice.message,
            "data": choice.data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}
