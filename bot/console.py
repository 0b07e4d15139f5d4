"""``python -m bot console``: the real application, driven from a terminal.

The bot is built by the same composition root as on Telegram, but its HTTP layer is
:class:`ConsoleBotApi`, an in-process Bot API that shows what the bot sends instead of
sending it. Each line typed becomes a message update from a local user; a bare number
presses a button under the newest message that has buttons (a paragraph's button by that
paragraph's number, so that ``7`` always opens ¶ 7).

The terminal is read in the main thread and the bot runs on an event loop in a second one.
That way ``input()`` owns the terminal as in any interactive program: readline gives line
editing and history, and Ctrl-C raises KeyboardInterrupt in ``input()`` at once, after
readline has put the terminal back as it found it. Reading in a worker thread instead
would leave Ctrl-C waiting for that thread's line.

The console keeps no state: its store is an SQLite file in a temporary directory removed
at exit, unless ``--database`` names one; never the real bot's ``./data/``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import itertools
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.chat.app import build_application, running
from bot.chat.commands import COMMANDS
from bot.chat.context import BriefApplication
from bot.chat.keyboards import PARAGRAPH_PREFIX
from bot.config import Settings
from bot.digest import Digest
from bot.markup import Token, to_plain_text, tokenize
from bot.render import Renderer

logger = logging.getLogger(__name__)

CONSOLE_TOKEN = "0:console"  # noqa: S105 - a placeholder: the console never reaches Telegram
CONSOLE_USER_ID = 1
BOT_USER = {"id": 0, "is_bot": True, "first_name": "Story Brief", "username": "StoryBriefBot"}
CONSOLE_USER = {"id": CONSOLE_USER_ID, "is_bot": False, "first_name": "You"}
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
MENU_WORDS = {"menu", "/menu"}
MENU_COMMAND = "/start"
PROMPT = "> "
EXIT_INTERRUPTED = 130  # what a shell reports for a program ended by Ctrl-C (128 + SIGINT)
INTERRUPT_RELAY_DELAY = 0.2
"""Seconds after a Ctrl-C the main thread has not seen before it is sent again."""
SHUTDOWN_TIMEOUT = 10.0
"""Seconds to wait for the bot to stop after the conversation ends; then leave anyway."""

# ANSI select-graphic-rendition codes for Telegram's tags.
_STYLES = {"b": "1", "strong": "1", "i": "3", "em": "3", "u": "4", "ins": "4", "a": "4"}
_STYLES |= {"s": "9", "strike": "9", "del": "9", "code": "36", "pre": "36", "tg-spoiler": "7"}
_DIM = frozenset({"2"})
_BOLD = frozenset({"1"})
_QUOTE_BAR = "│ "
# A list item's marker: its continuation lines are indented to the text after it.
_LIST_MARKER = re.compile(r"\s*(?:[•◦▪‣·*+~\u2013\u2014\u2212-]|\d{1,3}[.)])\s+")
_HREF = re.compile(r'href="([^"]*)"')


# --- Telegram HTML as terminal text -------------------------------------------------------


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (emoji, CJK) count two, marks none."""
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.category(char) in {"Mn", "Me", "Cf"}:  # combining marks, joiners, VS-16
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


Cell = tuple[str, frozenset[str]]
"""One character and the SGR codes it is shown with."""


@dataclass
class _Line:
    """A line of the message as Telegram shows it, before wrapping."""

    cells: list[Cell] = field(default_factory=list)
    quoted: bool = False
    preformatted: bool = False


class _LineBuilder:
    """Turns Telegram HTML tokens into lines of styled characters."""

    def __init__(self, base: frozenset[str]) -> None:
        self.base = base
        self.lines: list[_Line] = []
        self.open: list[Token] = []
        self.links: list[tuple[str, int]] = []  # href, and where the link's text starts
        self.block_ended = False
        self._new_line()

    def _names(self) -> set[str]:
        return {token.opens or "" for token in self.open}

    def _new_line(self) -> None:
        self.lines.append(_Line())
        self._take_block()

    def _take_block(self) -> None:
        """The current line is quoted or preformatted as the blocks open around it."""
        names = self._names()
        self.lines[-1].quoted = "blockquote" in names
        self.lines[-1].preformatted = "pre" in names

    def _styles(self) -> frozenset[str]:
        return self.base | {_STYLES[name] for name in self._names() if name in _STYLES}

    def add(self, token: Token) -> None:
        if token.opens:
            if token.opens in {"blockquote", "pre"} and self.lines[-1].cells:
                self._new_line()  # a block starts on a line of its own, as in Telegram
            self.open.append(token)
            if not self.lines[-1].cells:
                self._take_block()
            if token.opens == "a":
                found = _HREF.search(token.attributes)
                href = html.unescape(found.group(1)) if found else ""
                self.links.append((href, len(self.lines[-1].cells)))
        elif token.closes:
            for index in range(len(self.open) - 1, -1, -1):
                if self.open[index].opens == token.closes:
                    del self.open[index]
                    break
            if token.closes == "a" and self.links:
                self._show_link(*self.links.pop())
            self.block_ended = token.closes in {"blockquote", "pre"}
        else:
            self.text(token.visible, self._styles())

    def _show_link(self, href: str, start: int) -> None:
        """A link's address after its text, unless the text is the address already."""
        shown = "".join(char for char, _ in self.lines[-1].cells[start:])
        if href and href != shown:
            self.text(f" <{href}>", self.base | _DIM)

    def text(self, text: str, styles: frozenset[str]) -> None:
        for char in text:
            if self.block_ended and char != "\n" and self.lines[-1].cells:
                self._new_line()
            self.block_ended = False
            if char == "\n":
                self._new_line()
            else:
                self.lines[-1].cells.append((char, styles))


def _lines(text: str, base: frozenset[str]) -> list[_Line]:
    builder = _LineBuilder(base)
    try:
        tokens = tokenize(text)
    except ValueError:  # not HTML the bot would send: show it as it is
        tokens = [Token(text, text)]
    for token in tokens:
        builder.add(token)
    return builder.lines


def _wrap(line: _Line, width: int | None) -> list[list[Cell]]:
    """Rows of at most ``width`` columns, broken between words (inside one only if it must)."""
    if width is None or line.preformatted:
        return [line.cells]
    width = max(width, 10)
    text = "".join(char for char, _ in line.cells)
    marker = _LIST_MARKER.match(text)
    indent = display_width(marker.group(0)) if marker else 0
    if indent > width // 2:
        indent = 0
    rows: list[list[Cell]] = [[]]
    used = row_start = 0
    for match in re.finditer(r"(\s*)(\S+)", text):
        space = line.cells[match.start(1) : match.end(1)]
        word = line.cells[match.start(2) : match.end(2)]
        space_width, word_width = display_width(match.group(1)), display_width(match.group(2))
        if used > row_start and used + space_width + word_width > width:
            rows.append([(" ", frozenset())] * indent)
            used = row_start = indent
        elif used > row_start or len(rows) == 1:  # between words, or the line's own indent
            rows[-1] += space
            used += space_width
        for cell in word:
            cell_width = _char_width(cell[0])
            if used > row_start and used + cell_width > width:  # longer than a row: cut it
                rows.append([(" ", frozenset())] * indent)
                used = row_start = indent
            rows[-1].append(cell)
            used += cell_width
    return rows


def _sgr(codes: frozenset[str]) -> str:
    return f"\x1b[{';'.join(sorted(codes))}m" if codes else ""


def _emit(cells: Sequence[Cell], styled: bool) -> str:
    if not styled:
        return "".join(char for char, _ in cells)
    out: list[str] = []
    current: frozenset[str] = frozenset()
    for char, codes in cells:
        if codes != current:
            out.append("\x1b[0m" if current else "")
            out.append(_sgr(codes))
            current = codes
        out.append(char)
    if current:
        out.append("\x1b[0m")  # every row ends unstyled: the next may start with a quote bar
    return "".join(out)


def render(
    text: str, *, width: int | None, styled: bool, base: frozenset[str] = frozenset()
) -> str:
    """Telegram HTML as terminal text.

    Wrapped at word boundaries to ``width`` columns (None: not wrapped), list items with a
    hanging indent, block quotes behind a bar, links followed by their address; bold,
    italic, underline, strike and code as ANSI styles when ``styled``, else plain.
    """
    rows: list[str] = []
    for line in _lines(text, base):
        bar = [(char, _DIM) for char in _QUOTE_BAR] if line.quoted else []
        inner = None if width is None else width - len(bar)
        rows += [_emit(bar + row, styled) for row in _wrap(line, inner)]
    return "\n".join(rows)


# --- The terminal ------------------------------------------------------------------------


class Screen:
    """Where the console writes: wraps to the terminal, styles when it is one."""

    def __init__(self, out: TextIO, *, terminal: bool) -> None:
        self.out = out
        self.terminal = terminal
        # NO_COLOR (no-color.org) and dumb terminals get the words without the styles.
        self.styled = (
            terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )
        self.prompt: str | None = None
        """Set while the reader waits at a prompt: output then has to redraw it."""
        self.line_buffer: Callable[[], str] = str  # what readline holds; str() is ""
        self._lock = threading.Lock()

    def width(self) -> int | None:
        """The terminal's width now (it may have been resized), or None when piped."""
        if not self.terminal:
            return None
        try:
            return os.get_terminal_size(self.out.fileno()).columns or None
        except (OSError, ValueError):
            return None

    def format(self, text: str, *, dim: bool = False) -> str:
        """Telegram HTML, wrapped and styled for this screen."""
        base = _DIM if dim else frozenset()
        return render(text, width=self.width(), styled=self.styled, base=base)

    def format_note(self, text: str) -> str:
        """The console's own words (plain text from a template), set apart from the bot's."""
        return self.format(html.escape(text, quote=False), dim=True)

    def show(self, text: str) -> None:
        self.write(self.format(text))

    def note(self, text: str) -> None:
        self.write(self.format_note(text))

    def write(self, text: str) -> None:
        # Messages may arrive while the reader waits at the prompt (a broadcast after
        # /reload): clear the prompt's line, print, then show the prompt and what the
        # user has typed so far again.
        with self._lock:
            if self.prompt is not None:
                self.out.write("\r\x1b[2K")
            self.out.write(text + "\n")
            if self.prompt is not None:
                self.out.write(self.prompt + self.line_buffer())
            self.out.flush()


class LineReader:
    """Reads the user's lines: with readline's editing and history at a terminal."""

    def __init__(self, stdin: TextIO, stdout: TextIO, screen: Screen, words: Sequence[str]):
        self.stdin = stdin
        self.screen = screen
        self.interactive = stdin.isatty()
        # input() uses readline only on the process's own terminal, both ways.
        own_terminal = stdin is sys.stdin and stdout is sys.stdout and stdout.isatty()
        self.readline = _load_readline(words) if self.interactive and own_terminal else None
        if self.readline is not None:
            self.screen.line_buffer = self.readline.get_line_buffer

    def read(self) -> str | None:
        """The next line without its line break; None at the end of input (Ctrl-D)."""
        if self.readline is not None:
            self.screen.prompt = PROMPT
            try:
                return input(PROMPT)
            except EOFError:
                return None
            finally:
                self.screen.prompt = None
        if self.interactive:
            self.screen.out.write(PROMPT)
            self.screen.out.flush()
        line = self.stdin.readline()
        return line.rstrip("\r\n") if line else None


def _load_readline(words: Sequence[str]) -> ModuleType | None:
    """Importing readline is what makes input() edit lines; Tab completes the commands."""
    try:
        import readline
    except ImportError:  # a Python built without it: lines are read plainly
        return None

    def complete(text: str, state: int) -> str | None:
        # With the space after it, as a shell does: a command's argument may follow.
        matches = [f"{word} " for word in words if word.startswith(text)]
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")
    libedit = "libedit" in (readline.__doc__ or "")  # macOS: another syntax for key bindings
    readline.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")
    return readline


# --- The in-process Bot API ---------------------------------------------------------------


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
            _choices_table(table, self.screen.width(), self.screen.styled),
            self.screen.format_note(self.renderer.text("console_choices.txt")),
        ]


_INDENT, _GAP = "  ", "   "


def _choices_table(table: list[list[tuple[str, str]]], width: int | None, styled: bool) -> str:
    """The buttons in the keyboard's rows, in aligned columns.

    When those rows are wider than the terminal, the buttons are laid out again in reading
    order, as many to a row as fit (one a row at the least).
    """
    layout = table
    if width is not None:
        flat = [cell for row in table for cell in row]
        layouts = [table] + [
            [flat[start : start + columns] for start in range(0, len(flat), columns)]
            for columns in range(max(len(row) for row in table) - 1, 0, -1)
        ]
        layout = next((each for each in layouts if _table_width(each) <= width), layouts[-1])
    widths = _column_widths(layout)
    lines = []
    for row in layout:
        shown = []
        for index, (key, label) in enumerate(row):
            last = index == len(row) - 1
            padding = "" if last else " " * (widths[index] - display_width(f"{key} {label}"))
            key_text = f"{_sgr(_BOLD)}{key}\x1b[0m" if styled else key
            shown.append(f"{key_text} {label}{padding}")
        lines.append(_INDENT + _GAP.join(shown))
    return "\n".join(lines)


def _column_widths(layout: list[list[tuple[str, str]]]) -> list[int]:
    columns = max(len(row) for row in layout)
    return [
        max(display_width(f"{row[i][0]} {row[i][1]}") for row in layout if i < len(row))
        for i in range(columns)
    ]


def _table_width(layout: list[list[tuple[str, str]]]) -> int:
    widths = _column_widths(layout)
    return len(_INDENT) + sum(widths) + len(_GAP) * (len(widths) - 1)


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


# --- The bot's thread ---------------------------------------------------------------------


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


# --- The conversation ---------------------------------------------------------------------


@contextlib.contextmanager
def console_database(url: str | None) -> Iterator[str]:
    """``url`` if given; else a new SQLite file, removed with its directory at exit."""
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(
        prefix="story-brief-console-", ignore_cleanup_errors=True
    ) as directory:
        yield f"sqlite+aiosqlite:///{os.path.join(directory, 'console.sqlite3')}"


def run_console(
    settings: Settings,
    digest: Digest,
    *,
    admin: bool = False,
    database: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Talk to the bot from ``stdin`` until end of input, /quit or Ctrl-C; the exit code.

    ``admin`` adds the console's user to the admins for this run; ``database`` is a store
    to use instead of a temporary one.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    with console_database(database) as url:
        admin_ids = settings.admin_ids | {CONSOLE_USER_ID} if admin else settings.admin_ids
        settings = settings.model_copy(update={"database_url": url, "admin_ids": admin_ids})
        renderer = Renderer()
        screen = Screen(stdout, terminal=stdout.isatty())
        api = ConsoleBotApi(screen, renderer)
        application = build_application(
            settings, token=CONSOLE_TOKEN, digest=digest, renderer=renderer, request=api
        )
        bot = BotThread(application)
        words = sorted({f"/{command.name}" for command in COMMANDS} | MENU_WORDS | QUIT_WORDS)
        reader = LineReader(stdin, stdout, screen, words)
        try:
            bot.start()
            # After the store opened: a bad --database shows its error, not a banner first.
            banner = renderer.text(
                "console_banner.txt",
                user_id=CONSOLE_USER_ID,
                admin=CONSOLE_USER_ID in admin_ids,  # by --admin, or by BOT_ADMIN_IDS
                kept=database is not None,
            )
            screen.show(html.escape(banner, quote=False) + "\n")
            return _converse(bot, api, reader, screen, renderer, digest)
        except KeyboardInterrupt:
            bot.interrupted.set()
            # Ctrl-C: leave at once, on a line of our own, without a traceback.
            screen.write("")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # Whoever read the output has gone (`| head`): leave as quietly as `cat` would.
            # Python flushes stdout at exit once more; it goes to /dev/null, not to an error.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
            return 0
        finally:
            bot.stop()


def _converse(
    bot: BotThread,
    api: ConsoleBotApi,
    reader: LineReader,
    screen: Screen,
    renderer: Renderer,
    digest: Digest,
) -> int:
    user = ConsoleUser()
    application = bot.application
    while True:
        line = reader.read()
        if line is None:  # Ctrl-D, or the end of piped input
            if reader.interactive:
                screen.write("")
            return 0
        text = line.strip()
        if not text:
            # Piped input may use blank lines to group its lines; a person gets a hint.
            if reader.interactive:
                screen.note(renderer.text("console_empty_line.txt"))
            continue
        if text.lower() in QUIT_WORDS:
            return 0
        if not reader.interactive:
            screen.write(f"{PROMPT}{text}")
        if text.lower() in MENU_WORDS:
            text = MENU_COMMAND
        if text.isdecimal():
            choice = api.choices.get(int(text))
            if choice is None:
                number = int(text)
                paragraphs = len(digest.article.paragraphs)
                screen.note(
                    renderer.text(
                        "console_no_choice.txt",
                        requested=text,
                        choices=sorted(api.choices),
                        paragraph=number if 1 <= number <= paragraphs else None,
                    )
                )
                screen.write("")
                continue
            if choice.data.startswith(LINK_CHOICE):
                address = choice.data.removeprefix(LINK_CHOICE)
                screen.note(renderer.text("console_link.txt", label=choice.label, url=address))
                screen.write("")
                continue
            payload = user.press(choice)
        else:
            payload = user.message(text)
        bot.run(application.process_update(Update.de_json(payload, application.bot)))
