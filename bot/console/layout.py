"""Telegram HTML as terminal text: wrapped to a width, styled with ANSI codes or plain.

Pure functions of the text and the terminal's width, so that tests can check what a message
looks like without a terminal.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.markup import Token, tokenize

# ANSI select-graphic-rendition codes for Telegram's tags.
_STYLES = {"b": "1", "strong": "1", "i": "3", "em": "3", "u": "4", "ins": "4", "a": "4"}
_STYLES |= {"s": "9", "strike": "9", "del": "9", "code": "36", "pre": "36", "tg-spoiler": "7"}
DIM = frozenset({"2"})
_BOLD = frozenset({"1"})
_QUOTE_BAR = "│ "
# A list item's marker: its continuation lines are indented to the text after it.
_LIST_MARKER = re.compile(r"\s*(?:[•◦▪‣·*+~\u2013\u2014\u2212-]|\d{1,3}[.)])\s+")
_HREF = re.compile(r'href="([^"]*)"')


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
            self.text(f" <{href}>", self.base | DIM)

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
        bar = [(char, DIM) for char in _QUOTE_BAR] if line.quoted else []
        inner = None if width is None else width - len(bar)
        rows += [_emit(bar + row, styled) for row in _wrap(line, inner)]
    return "\n".join(rows)


_INDENT, _GAP = "  ", "   "


def choices_table(table: list[list[tuple[str, str]]], width: int | None, styled: bool) -> str:
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
