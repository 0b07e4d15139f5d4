"""The terminal: where the console writes, and how it reads the user's lines."""

from __future__ import annotations

import html
import os
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TextIO

from bot.console.layout import DIM, render

PROMPT = "> "


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
        base = DIM if dim else frozenset()
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
