"""A fake Telegram Bot API server speaking real HTTP on 127.0.0.1, for end-to-end tests.

The bot under test talks to it exactly as to Telegram (``base_url=double.base_url``); the
test plays the users (:meth:`BotApiDouble.send_text`, :meth:`BotApiDouble.press_button`)
and inspects what the bot did (:attr:`BotApiDouble.calls`, :meth:`BotApiDouble.messages`).
Every call is checked against the Bot API spec and Telegram's HTML rules; problems land in
:attr:`BotApiDouble.violations`, which a test asserts to be empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.parser
import email.policy
import itertools
import json
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from .html import ParsedHtml, parse_telegram_html, utf16_length
from .spec import BotApiSpec, UploadedFile, load_spec

__all__ = ["BotApiDouble", "BotMessage", "Call", "Fault"]

MAX_TEXT_LENGTH = 4096

_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_PATH = re.compile(r"/bot([^/]*)/([^/]*)/?")
_FILE_PATH = re.compile(r"/file/bot([^/]*)/(.+)")
"""Where a client downloads a file that getFile described (Telegram's /file/bot<token>/)."""
_COMMAND_ENTITY = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,32})?")
_MENTION = re.compile(r"(?<![\w/])@[A-Za-z0-9_]{5,32}")
_GROUP_USER_ID = 424242  # who sends a message or presses a button in a group by default


@dataclass(frozen=True)
class Fault:
    """An error (or a slow answer) to give instead of the normal response.

    Matches requests to ``method`` (any when None) about ``chat_id`` (any when None),
    ``times`` times (-1: forever). The response is what Telegram sends for ``status``:
    ``{"ok": false, "error_code": status, "description": ...}``, with
    ``parameters.retry_after`` for 429. ``description`` defaults to Telegram's text for the
    status (400 "Bad Request: chat not found", 403 "Forbidden: bot was blocked by the user",
    502 "Bad Gateway", ...). ``raw_body`` replaces the JSON body (e.g. a proxy's HTML page
    on 502). ``delay`` seconds pass before the answer; with ``status=200`` the request is
    then served normally (a slow response).
    """

    method: str | None = None
    chat_id: int | str | None = None
    status: int = 429
    description: str | None = None
    retry_after: int | None = None
    times: int = 1
    delay: float = 0.0
    raw_body: bytes | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON error body of this fault."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status}
        retry_after = self.retry_after
        if self.status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        if self.description is not None:
            body["description"] = self.description
        elif self.status == HTTPStatus.TOO_MANY_REQUESTS:
            body["description"] = f"Too Many Requests: retry after {retry_after}"
        else:
            body["description"] = _DEFAULT_DESCRIPTIONS.get(
                self.status, _status_phrase(self.status)
            )
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return body


@dataclass(frozen=True)
class Call:
    """One request the double received (``time`` is ``time.monotonic()`` on arrival)."""

    method: str
    params: dict[str, Any]
    time: float
    response_status: int
    description: str | None = None  # the error description when the answer was not ok


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, in its current state (after edits)."""

    message_id: int
    chat_id: int
    text: str  # as sent: the HTML source
    reply_markup: dict[str, Any] | None
    edits: int
    parse_mode: str | None = None
    visible_text: str = ""  # what the user sees: tags removed, entities decoded
    date: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard buttons, row by row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def callback_data(self, label: str) -> str:
        """The callback_data of the button labelled ``label`` (exactly, else containing it)."""
        buttons = [button for button in self.buttons() if "callback_data" in button]
        for matches in (
            lambda text: text == label,
            lambda text: label.casefold() in text.casefold(),
        ):
            found = [button for button in buttons if matches(str(button.get("text", "")))]
            if found:
                return str(found[0]["callback_data"])
        labels = [button.get("text") for button in buttons]
        raise AssertionError(f"no button {label!r} on message {self.message_id}; has {labels}")


@dataclass
class _Stored:
    message_id: int
    chat: dict[str, Any]
    date: int
    source: str
    parse_mode: str | None
    parsed: ParsedHtml
    reply_markup: dict[str, Any] | None
    edits: int = 0
    edit_date: int | None = None
    reply_to: dict[str, Any] | None = None

    def to_json(self, bot_user: Mapping[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": dict(bot_user),
            "chat": dict(self.chat),
            "date": self.date,
            "text": self.parsed.text,
        }
        if self.parsed.entities:
            message["entities"] = copy.deepcopy(self.parsed.entities)
        if self.reply_to is not None:
            message["reply_to_message"] = copy.deepcopy(self.reply_to)
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = copy.deepcopy(self.reply_markup)
        return message

    def snapshot(self) -> BotMessage:
        return BotMessage(
            message_id=self.message_id,
            chat_id=int(self.chat["id"]),
            text=self.source,
            reply_markup=copy.deepcopy(self.reply_markup),
            edits=self.edits,
            parse_mode=self.parse_mode,
            visible_text=self.parsed.text,
            date=self.date,
        )


@dataclass
class _ActiveFault:
    fault: Fault
    remaining: int


@dataclass(frozen=True)
class Request:
    """One HTTP request as the double's server read it; what :meth:`BotApiDouble._handle`
    (the hook a subclass may extend) is given."""

    http_method: str
    path: str
    query: str
    content_type: str
    body: bytes
    received: float
    """``time.monotonic()`` when it arrived, before any simulated latency."""

    @property
    def method(self) -> str:
        """The Bot API method its path names, lower-cased (methods are case-insensitive)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1].lower()

    def params(self) -> dict[str, Any]:
        """Its parameters (query string and body); ValueError if the body cannot be parsed."""
        return _parse_params(self.content_type, self.body, self.query)[0]


@dataclass
class Response:
    """The double's answer to a :class:`Request`."""

    status: int
    body: bytes
    content_type: str = "application/json"


class _ApiError(Exception):
    """An error answer from a method handler (optionally also a violation)."""

    def __init__(self, status: int, description: str, violation: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.violation = violation


@dataclass
class _Outcome:
    status: int
    payload: dict[str, Any] | None = None
    raw: bytes | None = None
    description: str | None = None
    violations: list[str] = field(default_factory=list)
    recorded: bool = False  # already in ``calls`` (see ``_record``)


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _error(status: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": description}


def _bad_request(detail: str) -> str:
    return detail if detail.startswith("Bad Request:") else f"Bad Request: {detail}"


def _now() -> int:
    return int(time.time())


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, double: BotApiDouble) -> None:
        self.double = double
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", double.requested_port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (timeouts, shutdown) is not a test failure.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BotApiDouble/1.0"
    timeout = 120.0

    def _double(self) -> BotApiDouble:
        server = self.server
        assert isinstance(server, _Server)
        return server.double

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = self.server
        assert isinstance(server, _Server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        received = time.monotonic()
        body = self._read_body()
        path, _, query = self.path.partition("?")
        request = Request(
            self.command, path, query, self.headers.get("Content-Type", ""), body, received
        )
        response = self._double()._handle(request)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class BotApiDouble:
    """A fake Bot API server on ``127.0.0.1``, on ``port`` or a free one.

    Use as a context manager (or :meth:`start` / :meth:`stop`) and point the bot at
    :attr:`base_url`. State is guarded by one condition variable: the server threads and the
    test may use the double concurrently. In ``async`` tests use :meth:`wait_for_async` and
    :meth:`wait_for_messages_async`: the blocking waits would stall the event loop the bot
    runs on.
    """

    server_class: type[_Server] = _Server
    """The HTTP server to run; a subclass may tune it (a longer listen backlog, say)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN-0123456789abcdefghijklmn",
        *,
        bot_id: int = 123456,
        username: str = "StoryBriefBot",
        first_name: str = "Story Brief",
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        self.token = token
        self.requested_port = port
        """The loopback port to serve on; 0 (the default) picks a free one (see :attr:`port`)."""
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.latency = latency
        self.spec: BotApiSpec = load_spec()
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.answered_callbacks: set[str] = set()
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.documents_sent: list[tuple[int, str, bytes]] = []
        """sendDocument calls: (chat id, file name, content)."""
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.inline_answers: dict[str, dict[str, Any]] = {}
        """answerInlineQuery's parameters by inline query id (results decoded from JSON)."""
        self._issued_inline: set[str] = set()
        self.bot_settings: dict[str, Any] = {}
        self._cond = threading.Condition(threading.RLock())
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100001)
        self._callback_ids = itertools.count(1)
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, _Stored]] = {}
        self._user_messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._issued_callbacks: dict[str, dict[str, Any]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self.chat_admins: dict[int, set[int]] = {}
        """Administrators of each group, for getChatMember; everyone else is a member."""
        self._faults: list[_ActiveFault] = []
        self._poll_generation = 0
        self._webhook: dict[str, Any] = {}
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "getFile": self._get_file,
            "sendDocument": self._send_document,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "getChatMember": self._get_chat_member,
            "setMyDescription": self._set_setting("description"),
            "setMyShortDescription": self._set_setting("short_description"),
            "setMyName": self._set_setting("name"),
            "setChatMenuButton": self._set_setting("menu_button"),
            "close": lambda params: True,
            "logOut": lambda params: True,
        }

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving on the loopback port (a free one by default), in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("BotApiDouble already started")
        self._stopping = False
        self._server = self.server_class(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: long polls return, open connections are closed."""
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiDouble:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("BotApiDouble is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url``: the client appends the token, then ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    # -- the users' side ------------------------------------------------------------------

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Alice",
        reply_to_bot_message_id: int | None = None,
    ) -> int:
        """A user sends ``text`` in a chat; returns the update_id of the queued Update.

        ``user_id`` defaults to ``chat_id`` in private chats (and to a fixed user in groups).
        A text starting with a command gets a ``bot_command`` entity, as from Telegram.
        """
        chat = self._make_chat(chat_id, chat_type, first_name)
        with self._cond:
            self._chats[chat_id] = chat
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "date": _now(),
                "chat": dict(chat),
                "text": text,
            }
            if chat_type == "channel":
                message["sender_chat"] = dict(chat)
            else:
                uid = user_id if user_id is not None else self._default_user(chat_id)
                user = {"id": uid, "is_bot": False, "first_name": first_name}
                user["language_code"] = "en"
                self._users[uid] = user
                message["from"] = dict(user)
            entities: list[dict[str, Any]] = []
            command = _COMMAND_ENTITY.match(text)
            if command is not None:
                entities.append(
                    {"type": "bot_command", "offset": 0, "length": utf16_length(command.group())}
                )
            # As Telegram does: every @username outside the command is a "mention" entity.
            for mention in _MENTION.finditer(text):
                if command is None or mention.start() >= command.end():
                    offset = utf16_length(text[: mention.start()])
                    length = utf16_length(mention.group())
                    entities.append({"type": "mention", "offset": offset, "length": length})
            if entities:
                message["entities"] = entities
            if reply_to_bot_message_id is not None:
                stored = self._bot_messages.get(chat_id, {}).get(reply_to_bot_message_id)
                if stored is None:
                    raise AssertionError(
                        f"no bot message {reply_to_bot_message_id} in chat {chat_id} to reply to"
                    )
                replied = stored.to_json(self.bot_user)
                replied.pop("reply_to_message", None)
                message["reply_to_message"] = replied
            self._user_messages.setdefault(chat_id, {})[message["message_id"]] = message
            key = "channel_post" if chat_type == "channel" else "message"
            return self._enqueue({key: message})

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        check: bool = True,
    ) -> str:
        """A user presses the inline button with callback ``data`` under a bot message.

        Queues an Update with a callback query carrying the message as currently stored;
        returns the callback query id. With ``check`` the button must exist on the message.
        """
        with self._cond:
            stored = self._bot_messages.get(chat_id, {}).get(message_id)
            if stored is None:
                known = sorted(self._bot_messages.get(chat_id, {}))
                raise AssertionError(
                    f"no bot message {message_id} in chat {chat_id} (bot messages: {known})"
                )
            if check:
                available = [
                    button.get("callback_data")
                    for button in stored.snapshot().buttons()
                    if "callback_data" in button
                ]
                if data not in available:
                    raise AssertionError(
                        f"message {message_id} in chat {chat_id} has no button with "
                        f"callback_data {data!r}; it has {available}"
                    )
            uid = user_id if user_id is not None else self._default_user(chat_id)
            user = dict(self._users.get(uid) or {"id": uid, "is_bot": False, "first_name": "Alice"})
            query_id = str(4_700_000_000_000_000_000 + next(self._callback_ids))
            query = {
                "id": query_id,
                "from": user,
                "message": stored.to_json(self.bot_user),
                "chat_instance": str(abs(chat_id) * 7919 % 10**18 + 10**18),
                "data": data,
            }
            self._issued_callbacks[query_id] = query
            self._enqueue({"callback_query": query})
            return query_id

    def send_document(
        self, chat_id: int, file_name: str, content: bytes, mime_type: str = "text/plain"
    ) -> int:
        """A user sends a file in their private chat; the bot can getFile and download it."""
        with self._cond:
            file_id = f"DOC{len(self._files) + 1:06d}"
            self._files[file_id] = (f"documents/{file_id}_{file_name}", content)
            user = dict(
                self._users.get(chat_id) or {"id": chat_id, "is_bot": False, "first_name": "Alice"}
            )
            message_id = self._next_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": _now(),
                "chat": {"id": chat_id, "type": "private", "first_name": user["first_name"]},
                "from": user,
                "document": {
                    "file_id": file_id,
                    "file_unique_id": f"U{file_id}",
                    "file_name": file_name,
                    "mime_type": mime_type,
                    "file_size": len(content),
                },
            }
            self._user_messages.setdefault(chat_id, {})[message_id] = message
            return self._enqueue({"message": message})

    def send_inline_query(self, user_id: int, query: str) -> str:
        """A user types ``@bot query`` in some chat; returns the inline query's id."""
        with self._cond:
            user = dict(
                self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Alice"}
            )
            query_id = str(5_100_000_000_000_000_000 + next(self._callback_ids))
            self._issued_inline.add(query_id)
            self._enqueue(
                {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
            )
            return query_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw Update (its update_id is assigned here); returns the update_id."""
        update = copy.deepcopy(update)
        update.pop("update_id", None)
        with self._cond:
            query = update.get("callback_query")
            if isinstance(query, dict) and "id" in query:
                self._issued_callbacks[str(query["id"])] = query
            return self._enqueue(update)

    # -- the bot's side -------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat (not deleted), oldest first, as they are now."""
        with self._cond:
            stored = self._bot_messages.get(chat_id, {})
            return [stored[key].snapshot() for key in sorted(stored)]

    def chats_messaged(self) -> list[int]:
        """The chats the bot has sent messages to."""
        with self._cond:
            return sorted(chat for chat, stored in self._bot_messages.items() if stored)

    def calls_to(self, method: str) -> list[Call]:
        """The received calls of one method."""
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def unanswered_callbacks(self) -> set[str]:
        """Callback query ids the double issued and the bot has not answered."""
        with self._cond:
            return set(self._issued_callbacks) - self.answered_callbacks

    def pending_updates(self) -> int:
        """How many updates are queued and not yet confirmed by the bot."""
        with self._cond:
            return len(self._updates)

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The commands stored by setMyCommands for a scope (default scope when None)."""
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def wait_for(self, predicate: Callable[[BotApiDouble], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate(self)`` holds; AssertionError with a dump on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(timeout))
                self._cond.wait(min(remaining, 0.05))

    def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[BotMessage]:
        """Block until the bot has at least ``count`` messages in ``chat_id``; return them."""
        self.wait_for(lambda double: len(double.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    async def wait_for_async(
        self,
        predicate: Callable[[BotApiDouble], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - same signature as wait_for
    ) -> None:
        """:meth:`wait_for` for coroutines: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if predicate(self):
                    return
            if time.monotonic() >= deadline:
                with self._cond:
                    raise AssertionError(self._timeout_report(timeout))
            await asyncio.sleep(0.01)

    async def wait_for_messages_async(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - same signature as wait_for_messages
    ) -> list[BotMessage]:
        """:meth:`wait_for_messages` for coroutines."""
        await self.wait_for_async(lambda double: len(double.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    def _timeout_report(self, timeout: float) -> str:
        lines = [f"condition not met within {timeout:.1f} s; recent Bot API calls:"]
        for call in self.calls[-30:]:
            shown = {key: _short(value, 80) for key, value in call.params.items()}
            outcome = str(call.response_status)
            if call.description:
                outcome += f" {call.description}"
            lines.append(f"  {call.method} -> {outcome} {shown}")
        if not self.calls:
            lines.append("  (none)")
        lines.append(f"pending updates: {len(self._updates)}")
        for chat_id in sorted(self._bot_messages):
            lines.append(f"chat {chat_id}: {len(self._bot_messages[chat_id])} bot message(s)")
        if self.violations:
            lines.append("violations:")
            lines.extend(f"  {violation}" for violation in self.violations)
        return "\n".join(lines)

    # -- fault injection ------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Answer matching requests with ``fault`` (see :class:`Fault`); faults apply in order."""
        if fault.times == 0:
            return
        with self._cond:
            self._faults.append(_ActiveFault(fault, fault.times))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> Fault | None:
        with self._cond:
            for active in self._faults:
                fault = active.fault
                if fault.method is not None and fault.method.lower() != method.lower():
                    continue
                if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                    continue
                if active.remaining > 0:
                    active.remaining -= 1
                    if active.remaining == 0:
                        self._faults.remove(active)
                return fault
        return None

    # -- request handling -----------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        """Answer ``request`` and record it; a subclass may extend this (flood limits,
        held answers) and call it for the answer."""
        method, params, outcome = request.path, dict[str, Any](), _Outcome(500)
        try:
            if self.latency > 0:
                time.sleep(self.latency)
            method, params, outcome = self._process(
                request.http_method,
                request.path,
                request.query,
                request.content_type,
                request.body,
                request.received,
            )
        except Exception:
            detail = traceback.format_exc()
            outcome = _Outcome(
                500,
                _error(500, "Internal Server Error: test double crashed"),
                violations=[f"{method}: the test double crashed:\n{detail}"],
            )
        if outcome.raw is not None:
            response = Response(outcome.status, outcome.raw, "text/html; charset=utf-8")
        else:
            payload = outcome.payload if outcome.payload is not None else {"ok": True}
            response = Response(
                outcome.status, json.dumps(payload, ensure_ascii=False).encode("utf-8")
            )
        if not outcome.recorded:
            with self._cond:
                self._record(method, params, request.received, outcome)
        return response

    def _record(
        self, method: str, params: dict[str, Any], received: float, outcome: _Outcome
    ) -> None:
        """Append the call to :attr:`calls` (and its violations); called with the lock held."""
        description = outcome.description
        if description is None and outcome.payload is not None and not outcome.payload.get("ok"):
            description = outcome.payload.get("description")
        self.violations.extend(outcome.violations)
        self.calls.append(Call(method, params, received, outcome.status, description))
        outcome.recorded = True
        self._cond.notify_all()

    def _process(
        self,
        http_method: str,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        received: float,
    ) -> tuple[str, dict[str, Any], _Outcome]:
        downloaded = _FILE_PATH.fullmatch(path)
        if downloaded is not None and http_method == "GET":
            return self._download(unquote(downloaded.group(1)), unquote(downloaded.group(2)))
        match = _PATH.fullmatch(path)
        if match is None:
            return (
                path,
                {},
                _Outcome(
                    404,
                    _error(404, "Not Found"),
                    violations=[f"{http_method} {path}: not a Bot API method URL"],
                ),
            )
        token, name = unquote(match.group(1)), unquote(match.group(2))
        if token != self.token:
            return (
                name,
                {},
                _Outcome(
                    401,
                    _error(401, "Unauthorized"),
                    violations=[f"{name}: wrong bot token in the URL"],
                ),
            )
        canonical = self.spec.canonical_method(name)
        if canonical is None:
            return (
                name,
                {},
                _Outcome(
                    404,
                    _error(404, "Not Found"),
                    violations=[f"{name}: no such method in {self.spec.version}"],
                ),
            )
        try:
            raw_params, files = _parse_params(content_type, body, query)
        except ValueError as exc:
            detail = f"can't parse the request: {exc}"
            return (
                canonical,
                {},
                _Outcome(
                    400, _error(400, _bad_request(detail)), violations=[f"{canonical}: {detail}"]
                ),
            )
        fields = self.spec.methods[canonical]
        for part_name, uploaded in files.items():
            if part_name in fields:
                raw_params[part_name] = uploaded
        params = self.spec.coerce(canonical, raw_params)
        errors = [(detail, detail) for detail in self.spec.validate(canonical, params)]
        notes = self._check_text(canonical, params)
        errors.extend(note for note in notes if note[1])
        violations = [f"{canonical}: {detail}" for detail, _ in errors]
        violations.extend(f"{canonical}: {detail}" for detail, answer in notes if not answer)

        fault = self._take_fault(canonical, params)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.status != HTTPStatus.OK:
                if fault.raw_body is not None:
                    return (
                        canonical,
                        params,
                        _Outcome(
                            fault.status,
                            raw=fault.raw_body,
                            description=f"raw {fault.status} body",
                            violations=violations,
                        ),
                    )
                return (
                    canonical,
                    params,
                    _Outcome(fault.status, fault.payload(), violations=violations),
                )
        if errors:
            answer = errors[0][1]
            return (
                canonical,
                params,
                _Outcome(400, _error(400, _bad_request(answer)), violations=violations),
            )
        handler = self._handlers.get(canonical)
        if handler is None:
            detail = f"Bad Request: method not implemented by the test double: {canonical}"
            return canonical, params, _Outcome(400, _error(400, detail), violations=violations)
        # The call is recorded in the same locked step that makes its effects visible (a
        # message stored, edited or deleted), so a test that sees a message also finds the
        # call that sent it in ``calls``. A long poll's wait releases the lock meanwhile.
        with self._cond:
            try:
                result = handler(params)
            except _ApiError as exc:
                if exc.violation is not None:
                    violations.append(f"{canonical}: {exc.violation}")
                outcome = _Outcome(
                    exc.status, _error(exc.status, exc.description), violations=violations
                )
            else:
                outcome = _Outcome(200, {"ok": True, "result": result}, violations=violations)
            self._record(canonical, params, received, outcome)
        return canonical, params, outcome

    def _check_text(self, method: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Text problems of sendMessage/editMessageText: (violation, Telegram's answer).

        An empty answer marks a product-contract problem that Telegram itself accepts.
        """
        text = params.get("text")
        if method not in ("sendMessage", "editMessageText") or not isinstance(text, str):
            return []
        parse_mode = params.get("parse_mode")
        if not isinstance(parse_mode, str) or parse_mode.upper() != "HTML":
            notes = [("text sent without parse_mode HTML", "")]
            size = utf16_length(text.strip())
            if not text.strip():
                notes.append(("message text is empty", "message text is empty"))
            elif size > MAX_TEXT_LENGTH:
                notes.append((f"message is too long ({size})", "message is too long"))
            return notes
        parsed = parse_telegram_html(text)
        if parsed.problems:
            return [
                (f"can't parse entities: {problem}", f"can't parse entities: {problem}")
                for problem in parsed.problems
            ]
        if not parsed.text:
            return [("message text is empty", "message text is empty")]
        if parsed.length > MAX_TEXT_LENGTH:
            detail = f"message is too long: {parsed.length} UTF-16 code units of visible text"
            return [(detail, "message is too long")]
        return []

    # -- state helpers (called with the lock held) ----------------------------------------

    def _enqueue(self, update: dict[str, Any]) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
            self._cond.notify_all()
            return update_id

    def _next_message_id(self, chat_id: int) -> int:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    @staticmethod
    def _default_user(chat_id: int) -> int:
        return chat_id if chat_id > 0 else _GROUP_USER_ID

    @staticmethod
    def _make_chat(chat_id: int, chat_type: str, first_name: str) -> dict[str, Any]:
        if chat_type == "private":
            if chat_id <= 0:
                raise ValueError("a private chat has the (positive) id of its user")
            return {"id": chat_id, "type": "private", "first_name": first_name}
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        if chat_id >= 0:
            raise ValueError(f"a {chat_type} has a negative id")
        return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Alice"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Test {kind}"}

    def _stored(self, params: Mapping[str, Any], action: str) -> _Stored:
        if "inline_message_id" in params:
            raise _ApiError(
                400, "Bad Request: inline messages are not supported by the test double"
            )
        chat = self._chat(params.get("chat_id"))
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        stored = self._bot_messages.get(chat["id"], {}).get(message_id)
        if stored is not None:
            return stored
        if message_id in self._user_messages.get(chat["id"], {}):
            raise _ApiError(400, f"Bad Request: message can't be {action}ed")
        raise _ApiError(400, f"Bad Request: message to {action} not found")

    def _parse_text(self, params: Mapping[str, Any]) -> ParsedHtml:
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            return parse_telegram_html(text)
        entities = params.get("entities")
        return ParsedHtml(text.strip(), entities if isinstance(entities, list) else [])

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        scope_json = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return f"{scope_json}|{language_code or ''}"

    # -- method handlers ------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = params.get("limit", 100)
        limit = max(1, min(100, limit if isinstance(limit, int) else 100))
        timeout = params.get("timeout", 0)
        timeout = max(0, timeout if isinstance(timeout, int | float) else 0)
        with self._cond:
            if self._webhook.get("url"):
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # an older long poll is now superseded: it answers 409
            if isinstance(offset, int):
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            deadline = time.monotonic() + timeout
            while not self._updates and not self._stopping:
                if self._poll_generation != generation:
                    raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._poll_generation != generation:
                raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            return copy.deepcopy(self._updates[:limit])

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._webhook = {}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._webhook = {key: value for key, value in params.items() if key != "certificate"}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            return {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            chat = self._chat(params["chat_id"])
            reply_to: dict[str, Any] | None = None
            reply_parameters = params.get("reply_parameters")
            if isinstance(reply_parameters, dict):
                reply_to = self._find_message(chat["id"], reply_parameters.get("message_id"))
                if reply_to is None and not reply_parameters.get("allow_sending_without_reply"):
                    raise _ApiError(400, "Bad Request: message to be replied not found")
            markup = params.get("reply_markup")
            stored = _Stored(
                message_id=self._next_message_id(chat["id"]),
                chat=dict(chat),
                date=_now(),
                source=str(params["text"]),
                parse_mode=params.get("parse_mode"),
                parsed=self._parse_text(params),
                reply_markup=copy.deepcopy(markup) if isinstance(markup, dict) else None,
                reply_to=reply_to,
            )
            self._bot_messages.setdefault(chat["id"], {})[stored.message_id] = stored
            return stored.to_json(self.bot_user)

    def _find_message(self, chat_id: int, message_id: Any) -> dict[str, Any] | None:
        user_message = self._user_messages.get(chat_id, {}).get(message_id)
        if user_message is not None:
            found = copy.deepcopy(user_message)
            found.pop("reply_to_message", None)
            return found
        stored = self._bot_messages.get(chat_id, {}).get(message_id)
        if stored is None:
            return None
        found = stored.to_json(self.bot_user)
        found.pop("reply_to_message", None)
        return found

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            stored = self._stored(params, "edit")
            if "text" not in params:
                raise _ApiError(400, "Bad Request: message text is empty")
            parsed = self._parse_text(params)
            markup = params.get("reply_markup")
            new_markup = copy.deepcopy(markup) if isinstance(markup, dict) else None
            if (
                parsed.text == stored.parsed.text
                and parsed.entities == stored.parsed.entities
                and new_markup == stored.reply_markup
            ):
                raise _ApiError(400, _NOT_MODIFIED)
            stored.source = str(params["text"])
            stored.parse_mode = params.get("parse_mode")
            stored.parsed = parsed
            stored.reply_markup = new_markup
            stored.edits += 1
            stored.edit_date = _now()
            return stored.to_json(self.bot_user)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            stored = self._stored(params, "edit")
            markup = params.get("reply_markup")
            new_markup = copy.deepcopy(markup) if isinstance(markup, dict) else None
            if new_markup == stored.reply_markup:
                raise _ApiError(400, _NOT_MODIFIED)
            stored.reply_markup = new_markup
            stored.edits += 1
            stored.edit_date = _now()
            return stored.to_json(self.bot_user)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        with self._cond:
            stored = self._stored(params, "delete")
            del self._bot_messages[stored.chat["id"]][stored.message_id]
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params["callback_query_id"])
        with self._cond:
            if query_id in self.answered_callbacks:
                raise _ApiError(
                    400, _QUERY_TOO_OLD, violation=f"callback query {query_id} answered twice"
                )
            if query_id not in self._issued_callbacks:
                raise _ApiError(400, _QUERY_TOO_OLD)
            self.answered_callbacks.add(query_id)
            self.callback_answers[query_id] = dict(params)
        return True

    def _download(self, token: str, file_path: str) -> tuple[str, dict[str, Any], _Outcome]:
        with self._cond:
            found = next((c for p, c in self._files.values() if p == file_path), None)
        if token != self.token or found is None:
            return "download", {}, _Outcome(404, _error(404, "Not Found"))
        return "download", {"file_path": file_path}, _Outcome(200, raw=found)

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        with self._cond:
            if file_id not in self._files:
                raise _ApiError(400, "Bad Request: invalid file_id")
            file_path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(content),
            "file_path": file_path,
        }

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if not isinstance(document, UploadedFile):
            raise _ApiError(400, "Bad Request: the test double takes only uploaded documents")
        with self._cond:
            chat = self._chat(params["chat_id"])
            self.documents_sent.append((chat["id"], document.filename, document.data))
            message_id = self._next_message_id(chat["id"])
        return {
            "message_id": message_id,
            "date": _now(),
            "chat": dict(chat),
            "from": self.bot_user,
            "document": {
                "file_id": f"SENT{message_id}",
                "file_unique_id": f"USENT{message_id}",
                "file_name": document.filename,
                "file_size": len(document.data),
            },
        }

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        """Checks what Telegram checks of the results: ids, count, and each message's HTML."""
        query_id = str(params["inline_query_id"])
        results = params["results"]
        if isinstance(results, str):
            results = json.loads(results)
        with self._cond:
            if query_id in self.inline_answers or query_id not in self._issued_inline:
                raise _ApiError(
                    400,
                    _QUERY_TOO_OLD,
                    violation=f"inline query {query_id} answered twice or unknown",
                )
        if len(results) > 50:
            raise _ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise _ApiError(400, "Bad Request: RESULT_ID_INVALID", violation=f"result ids {ids}")
        for result in results:
            content = result.get("input_message_content") or {}
            text = content.get("message_text")
            if not isinstance(text, str) or str(content.get("parse_mode", "")).upper() != "HTML":
                raise _ApiError(
                    400,
                    "Bad Request: MESSAGE_EMPTY",
                    violation=f"result {result.get('id')} has no HTML text",
                )
            parsed = parse_telegram_html(text)
            if parsed.problems:
                problem = parsed.problems[0]
                raise _ApiError(
                    400, f"Bad Request: can't parse entities: {problem}", violation=str(problem)
                )
            if not parsed.text or parsed.length > MAX_TEXT_LENGTH:
                raise _ApiError(
                    400,
                    "Bad Request: MESSAGE_TOO_LONG",
                    violation=f"result {result.get('id')}: {parsed.length}",
                )
        with self._cond:
            self.inline_answers[query_id] = dict(params) | {"results": results}
            self._cond.notify_all()
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands[key] = copy.deepcopy(params["commands"])
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands.pop(key, None)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._chat(params["chat_id"])
        action = params["action"]
        if action not in _CHAT_ACTIONS:
            raise _ApiError(
                400,
                "Bad Request: wrong parameter action in request",
                violation=f"unknown chat action {action!r}",
            )
        return True

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            chat = self._chat(params["chat_id"])
            user_id = params["user_id"]
            user = self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "Alice"})
            admins = self.chat_admins.get(chat["id"], set())
        if chat["type"] == "private" or user_id in admins:
            status = "creator" if chat["type"] == "private" else "administrator"
        else:
            status = "member"
        member: dict[str, Any] = {"status": status, "user": dict(user)}
        if status == "administrator":
            member |= {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    def bot_membership_changed(
        self, chat_id: int, status: str, *, chat_type: str = "private", by_user: int | None = None
    ) -> int:
        """Telegram tells the bot its own membership changed (blocked, kicked, restarted)."""
        with self._cond:
            chat = dict(self._chats.get(chat_id) or self._chat(chat_id))
        if chat_type != "private":
            chat = self._make_chat(chat_id, chat_type, "Alice")
        actor = by_user if by_user is not None else self._default_user(chat_id)
        old = {"status": "member", "user": self.bot_user}
        new: dict[str, Any] = {"status": status, "user": self.bot_user}
        if status == "kicked":
            new["until_date"] = 0
        update = {
            "my_chat_member": {
                "chat": chat,
                "from": {"id": actor, "is_bot": False, "first_name": "Alice"},
                "date": _now(),
                "old_chat_member": old,
                "new_chat_member": new,
            }
        }
        return self.push_update(update)

    def _set_setting(self, name: str) -> Callable[[dict[str, Any]], bool]:
        def handler(params: dict[str, Any]) -> bool:
            with self._cond:
                self.bot_settings[name] = dict(params)
            return True

        return handler


def _parse_params(
    content_type: str, body: bytes, query: str
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters of a request: query string plus a form, multipart or JSON body."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    kind = content_type.split(";")[0].strip().lower()
    if not body.strip():
        return params, files
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"invalid JSON body: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ValueError("a JSON body must be an object")
        params.update(decoded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        _parse_multipart(content_type, body, params, files)
    else:
        raise ValueError(f"unsupported Content-Type {content_type!r}")
    return params, files


def _parse_multipart(
    content_type: str, body: bytes, params: dict[str, Any], files: dict[str, UploadedFile]
) -> None:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    for part in message.walk():
        if part is message or part.is_multipart():
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("multipart part without a name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            charset = part.get_content_charset() or "utf-8"
            params[name] = data.decode(charset)
