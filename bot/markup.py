"""Telegram's HTML, as far as the bot needs it: measure, check, split and flatten.

Telegram counts a message's length in UTF-16 code units of its *visible* text, after tags
are removed and entities decoded, and refuses more than 4096 of them. Replies longer than
that are split at paragraph boundaries, and a split inside an element closes it and opens it
again in the next part, so every part is well-formed on its own.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

MAX_MESSAGE_LENGTH = 4096
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"tg-emoji", "code", "pre", "blockquote"}
)
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][\w-]*)([^>]*)>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]+|.", re.S
)
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True)
class Token:
    """A tag, an entity or a run of text."""

    raw: str
    visible: str = ""
    opens: str | None = None
    closes: str | None = None
    attributes: str = ""


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def tokenize(text: str) -> list[Token]:
    """Split Telegram HTML into tags, entities and text (raises ``ValueError`` if malformed)."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        closing, tag, _attributes, entity = match.group(1, 2, 3, 4)
        raw = match.group(0)
        if tag is not None:
            name = tag.lower()
            if name not in ALLOWED_TAGS:
                raise ValueError(f"tag <{name}> is not one Telegram accepts")
            if closing:
                tokens.append(Token(raw, closes=name))
            else:
                tokens.append(Token(raw, opens=name, attributes=_attributes.strip()))
        elif entity is not None:
            tokens.append(Token(raw, _decode_entity(entity)))
        elif raw in "<&":
            raise ValueError(f"unescaped {raw!r}")
        else:
            tokens.append(Token(raw, raw))
    return tokens


def _decode_entity(entity: str) -> str:
    if entity.startswith("#"):
        return html.unescape(f"&{entity};")
    if entity not in _ENTITIES:
        raise ValueError(f"entity &{entity}; is not one Telegram accepts")
    return _ENTITIES[entity]


def visible_text(text: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return "".join(token.visible for token in tokenize(text))


def visible_length(text: str) -> int:
    """Telegram's measure of a message: UTF-16 code units of :func:`visible_text`."""
    return utf16_length(visible_text(text))


def problems(text: str, max_length: int | None = MAX_MESSAGE_LENGTH) -> list[str]:
    """What Telegram would refuse in ``text``: bad tags or entities, nesting, length."""
    try:
        tokens = tokenize(text)
    except ValueError as error:
        return [str(error)]
    found: list[str] = []
    stack: list[str] = []
    for token in tokens:
        if token.opens:
            found += _attribute_problems(token, stack)
            stack.append(token.opens)
        elif token.closes and (not stack or stack.pop() != token.closes):
            found.append(f"</{token.closes}> closes nothing open")
            break
    found += [f"<{name}> is never closed" for name in reversed(stack)] if not found else []
    visible = "".join(token.visible for token in tokens)
    if not visible.strip():
        found.append("the message has no visible text")
    if max_length is not None and utf16_length(visible) > max_length:
        found.append(f"{utf16_length(visible)} characters, over {max_length}")
    return found


# What each tag must carry, or may carry (Telegram drops or refuses anything else).
_REQUIRED = {"a": re.compile(r'href="[^"]+"'), "tg-emoji": re.compile(r'emoji-id="\d+"')}
_REQUIRED["span"] = re.compile(r'class="tg-spoiler"')
_ALLOWED_ATTRIBUTES = {"a", "tg-emoji", "span", "code", "blockquote"}


def _attribute_problems(token: Token, open_tags: list[str]) -> list[str]:
    name, attributes = token.opens or "", token.attributes
    if name in _REQUIRED and not _REQUIRED[name].fullmatch(attributes):
        return [f"<{name}> needs {_REQUIRED[name].pattern.replace(chr(92), '')}"]
    if attributes and name not in _ALLOWED_ATTRIBUTES:
        return [f"<{name}> takes no attributes"]
    if name == "code" and attributes and "pre" not in open_tags:
        return ["<code class=...> is only allowed inside <pre>"]
    if name == "blockquote" and attributes not in {"", "expandable"}:
        return ["<blockquote> takes only the expandable attribute"]
    if name in {"blockquote", "pre"} and ({"blockquote", "pre"} & set(open_tags)):
        return [f"<{name}> cannot be nested in a block"]
    return []


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` visible characters.

    Cuts fall on paragraph boundaries (blank lines) where possible, then on line breaks, then
    between words, and only as a last resort inside a word; never inside a tag or an entity.
    """
    text = text.strip()
    if visible_length(text) <= limit:
        return [text]
    return [part for part in _Splitter(tokenize(text), limit).parts() if visible_text(part).strip()]


class _Splitter:
    """Greedy packing of tokens into parts, preferring the weakest boundary that fits."""

    _BREAKS = ("\n\n", "\n", " ")

    def __init__(self, tokens: list[Token], limit: int) -> None:
        self.tokens = [piece for token in tokens for piece in _characters(token)]
        self.limit = limit

    def parts(self) -> list[str]:
        parts: list[str] = []
        start, reopen = 0, list[Token]()
        while start < len(self.tokens):
            end = self._cut(start, reopen)
            body = self.tokens[start:end]
            still_open = _open_after(reopen + body)
            closing = "".join(f"</{token.opens}>" for token in reversed(still_open))
            parts.append(("".join(t.raw for t in reopen + body) + closing).strip())
            start, reopen = end, still_open
        return parts

    def _cut(self, start: int, reopen: list[Token]) -> int:
        """The end of the longest run from ``start`` that fits, cut at the best boundary."""
        budget = self.limit
        end = start
        while end < len(self.tokens):
            cost = utf16_length(self.tokens[end].visible)
            if cost > budget:
                break
            budget -= cost
            end += 1
        if end == len(self.tokens):
            return end
        window = "".join(t.visible if t.visible else "\0" for t in self.tokens[start:end])
        for separator in self._BREAKS:
            position = window.rfind(separator)
            if position > 0:
                return start + position + len(separator)
        return max(end, start + 1)


def _characters(token: Token) -> list[Token]:
    """Text runs become one token per character so a cut can fall anywhere between them."""
    if token.opens or token.closes or len(token.raw) == 1 or token.raw.startswith("&"):
        return [token]
    return [Token(char, char) for char in token.raw]


def _open_after(tokens: list[Token]) -> list[Token]:
    stack: list[Token] = []
    for token in tokens:
        if token.opens:
            stack.append(token)
        elif token.closes and stack:
            stack.pop()
    return stack


# ANSI select-graphic-rendition codes for the console: bold, italic, underline, strike, dim.
_STYLES = {"b": "1", "strong": "1", "i": "3", "em": "3", "u": "4", "ins": "4"}
_STYLES |= {"s": "9", "strike": "9", "del": "9", "code": "2", "pre": "2"}


class _PlainText(HTMLParser):
    """Telegram HTML to terminal text: emphasis as ANSI codes (or nothing), quotes indented."""

    def __init__(self, colour: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.colour = colour
        self.out: list[str] = []
        self.links: list[str] = []
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif self.colour and tag in _STYLES:
            self.out.append(f"\x1b[{_STYLES[tag]}m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote_depth -= 1
        elif tag == "a" and self.links:
            self.out.append(f" <{self.links.pop()}>")
        elif self.colour and tag in _STYLES:
            self.out.append("\x1b[0m")

    def handle_data(self, data: str) -> None:
        if self.quote_depth:
            data = data.replace("\n", "\n│ ")
            if not self.out or self.out[-1].endswith("\n"):
                data = "│ " + data
        self.out.append(data)


def to_plain_text(text: str, *, colour: bool = False) -> str:
    """Render Telegram HTML for a terminal."""
    parser = _PlainText(colour)
    parser.feed(text)
    parser.close()
    return "".join(parser.out)
