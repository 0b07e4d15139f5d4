"""Telegram's "HTML style" text formatting, checked the way the Bot API parses it.

Rules (https://core.telegram.org/bots/api#formatting-options):

* only these tags: ``b strong i em u ins s strike del span tg-spoiler a tg-emoji tg-time
  code pre blockquote``, with only these attributes: ``a href`` (required),
  ``span class="tg-spoiler"`` (required), ``tg-emoji emoji-id`` (required),
  ``tg-time unix`` (required) and ``format`` (``r|w?[dD]?[tT]?``),
  ``code class="language-..."`` (only directly inside ``pre``), ``blockquote expandable``;
* tags are properly nested and closed; pre/code contain no other tags (except the
  ``<pre><code class="language-x">`` idiom); links and block quotes do not nest;
* every ``<``, ``>`` and ``&`` that is not part of a tag or entity is escaped; the named
  entities are only ``&lt; &gt; &amp; &quot;``; numeric entities are fine;
* the visible text (tags removed, entities decoded, surrounding white space trimmed)
  is 1-4096 characters, counted in UTF-16 code units.

The tokenizer is a small hand-written scanner: ``html.parser`` accepts far more than
Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "HtmlProblem",
    "ParsedHtml",
    "parse_telegram_html",
    "utf16_length",
    "validate_telegram_html",
    "visible_length",
    "visible_text",
]

MAX_MESSAGE_LENGTH = 4096

NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# Tag name -> attributes it may carry.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}

_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

_SPECIAL = re.compile(r"[<>&]")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_NAME = re.compile(r"[^\s\"'<>/=]+")
_UNQUOTED_VALUE = re.compile(r"[^\s\"'<>=`]+")
_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|([A-Za-z][A-Za-z0-9]{0,31}));")
_TIME_FORMAT = re.compile(r"r|w?[dD]?[tT]?")
_LANGUAGE_CLASS = re.compile(r"language-(\S+)")


@dataclass(frozen=True)
class HtmlProblem:
    """One reason why Telegram would reject (or the product contract forbids) a text."""

    detail: str
    offset: int | None = None  # index into the checked string, when there is one

    def __str__(self) -> str:
        return self.detail


@dataclass
class ParsedHtml:
    """What Telegram makes of an HTML text: its plain text, entities and any problems."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    problems: list[HtmlProblem] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Length of the visible text in UTF-16 code units, as Telegram counts it."""
        return utf16_length(self.text)


@dataclass
class _OpenTag:
    name: str
    offset: int
    start16: int
    attrs: dict[str, str | None]
    language: str | None = None


@dataclass
class _Tag:
    name: str
    closing: bool
    self_closing: bool
    attrs: list[tuple[str, str | None]]
    end: int


def utf16_length(text: str) -> int:
    """Number of UTF-16 code units in ``text`` (astral characters count twice)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _scan_tag(text: str, start: int) -> _Tag | str | None:
    """Scan the tag at ``text[start] == "<"``.

    Returns the tag, ``None`` when the ``<`` does not start a tag at all (a stray ``<``),
    or an error message when it starts one that is malformed.
    """
    pos = start + 1
    closing = text.startswith("/", pos)
    if closing:
        pos += 1
    name_match = _TAG_NAME.match(text, pos)
    if name_match is None:
        return None
    name = name_match.group().lower()
    pos = name_match.end()
    attrs: list[tuple[str, str | None]] = []
    while True:
        after_space = _skip_space(text, pos)
        if after_space >= len(text):
            return f'Unclosed start tag "{name}"'
        char = text[after_space]
        if char == ">":
            return _Tag(name, closing, False, attrs, after_space + 1)
        if text.startswith("/>", after_space):
            return _Tag(name, closing, True, attrs, after_space + 2)
        if after_space == pos:
            return f'Unexpected character {char!r} in tag "{name}"'
        attr_match = _ATTR_NAME.match(text, after_space)
        if attr_match is None:
            return f'Unexpected character {char!r} in tag "{name}"'
        attr_name = attr_match.group().lower()
        pos = _skip_space(text, attr_match.end())
        if not text.startswith("=", pos):
            attrs.append((attr_name, None))
            continue
        pos = _skip_space(text, pos + 1)
        if pos >= len(text):
            return f'Unclosed start tag "{name}"'
        quote = text[pos]
        if quote in "\"'":
            close = text.find(quote, pos + 1)
            if close < 0:
                return f'Unclosed value of attribute "{attr_name}" in tag "{name}"'
            attrs.append((attr_name, text[pos + 1 : close]))
            pos = close + 1
        else:
            value_match = _UNQUOTED_VALUE.match(text, pos)
            if value_match is None:
                return f'Missing value of attribute "{attr_name}" in tag "{name}"'
            attrs.append((attr_name, value_match.group()))
            pos = value_match.end()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []
        self.problems: list[HtmlProblem] = []

    def problem(self, detail: str, index: int) -> None:
        where = f" at byte offset {_byte_offset(self.source, index)}"
        self.problems.append(HtmlProblem(detail + where, index))

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_length(chunk)

    def decode(self, raw: str, tag_index: int) -> str:
        """Decode the entities of an attribute value, reporting the bad ones at the tag."""
        parts: list[str] = []
        pos = 0
        while True:
            amp = raw.find("&", pos)
            if amp < 0:
                parts.append(raw[pos:])
                return "".join(parts)
            parts.append(raw[pos:amp])
            decoded, pos = self.entity(raw, amp, tag_index)
            parts.append(decoded)

    def entity(self, text: str, index: int, report_at: int | None) -> tuple[str, int]:
        """Decode the entity at ``text[index] == "&"``; return it and the next position.

        Problems are reported at ``report_at``, or at ``index`` when that is None.
        """
        where = index if report_at is None else report_at
        match = _ENTITY.match(text, index)
        if match is None:
            self.problem('Unescaped "&" (write &amp;)', where)
            return "&", index + 1
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            if name not in NAMED_ENTITIES:
                self.problem(
                    f'Unsupported HTML entity "{match.group()}" '
                    "(only &lt; &gt; &amp; &quot; and numeric entities are allowed)",
                    where,
                )
                return match.group(), match.end()
            return NAMED_ENTITIES[name], match.end()
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self.problem(f'Invalid numeric HTML entity "{match.group()}"', where)
            return match.group(), match.end()
        return chr(code), match.end()

    def run(self) -> ParsedHtml:
        text = self.source
        pos = 0
        while pos < len(text):
            special = _SPECIAL.search(text, pos)
            if special is None:
                self.emit(text[pos:])
                break
            index = special.start()
            if index > pos:
                self.emit(text[pos:index])
            char = text[index]
            if char == ">":
                self.problem('Unescaped ">" (write &gt;)', index)
                self.emit(">")
                pos = index + 1
            elif char == "&":
                decoded, pos = self.entity(text, index, None)
                self.emit(decoded)
            else:
                pos = self.tag(index)
        for open_tag in reversed(self.stack):
            self.problem(
                f'Can\'t find end tag corresponding to start tag "{open_tag.name}"',
                open_tag.offset,
            )
        return self.result()

    def tag(self, index: int) -> int:
        scanned = _scan_tag(self.source, index)
        if scanned is None:
            self.problem('Unescaped "<" (write &lt;)', index)
            self.emit("<")
            return index + 1
        if isinstance(scanned, str):
            self.problem(f'{scanned}; a literal "<" must be written &lt;', index)
            self.emit("<")
            return index + 1
        if scanned.closing:
            self.end_tag(scanned, index)
        else:
            self.start_tag(scanned, index)
        return scanned.end

    def start_tag(self, tag: _Tag, index: int) -> None:
        name = tag.name
        if name not in ALLOWED_TAGS:
            self.problem(f'Unsupported start tag "{name}"', index)
            return
        if tag.self_closing:
            self.problem(f'Self-closing tag "<{name}/>" is not supported', index)
            return
        attrs: dict[str, str | None] = {}
        for attr_name, raw_value in tag.attrs:
            if attr_name not in ALLOWED_TAGS[name]:
                self.problem(f'Unsupported attribute "{attr_name}" in tag "{name}"', index)
                continue
            if attr_name in attrs:
                self.problem(f'Duplicate attribute "{attr_name}" in tag "{name}"', index)
            attrs[attr_name] = None if raw_value is None else self.decode(raw_value, index)
        self.check_attributes(name, attrs, index)
        self.check_nesting(name, attrs, index)
        self.stack.append(_OpenTag(name, index, self.pos16, attrs))

    def check_attributes(self, name: str, attrs: dict[str, str | None], index: int) -> None:
        if name == "a" and not attrs.get("href"):
            self.problem('Tag "a" must have a non-empty "href" attribute', index)
        elif name == "span" and attrs.get("class") != "tg-spoiler":
            self.problem('Tag "span" must have the attribute class="tg-spoiler"', index)
        elif name == "tg-emoji" and not (attrs.get("emoji-id") or "").isdigit():
            self.problem('Tag "tg-emoji" must have a numeric "emoji-id" attribute', index)
        elif name == "tg-time":
            unix = attrs.get("unix") or ""
            if not unix.isdigit():
                self.problem('Tag "tg-time" must have a "unix" attribute (a Unix time)', index)
            time_format = attrs.get("format")
            if time_format is not None and not _TIME_FORMAT.fullmatch(time_format):
                self.problem(
                    f'Invalid "format" {time_format!r} of tag "tg-time" '
                    "(must match r|w?[dD]?[tT]?)",
                    index,
                )

    def check_nesting(self, name: str, attrs: dict[str, str | None], index: int) -> None:
        names = [open_tag.name for open_tag in self.stack]
        parent = names[-1] if names else None
        if "code" in names:
            self.problem(f'Tag "{name}" can\'t be nested inside "code"', index)
        elif "pre" in names and not (name == "code" and parent == "pre"):
            self.problem(f'Tag "{name}" can\'t be nested inside "pre"', index)
        elif name == "a" and "a" in names:
            self.problem('Links ("a" tags) can\'t be nested', index)
        elif name == "blockquote" and "blockquote" in names:
            self.problem('Tag "blockquote" can\'t be nested', index)
        css_class = attrs.get("class")
        if name == "code" and css_class is not None:
            if parent != "pre":
                self.problem(
                    'Programming language can\'t be specified for a standalone "code" tag '
                    '(use <pre><code class="language-...">)',
                    index,
                )
            elif not _LANGUAGE_CLASS.fullmatch(css_class):
                self.problem(
                    f'Class of tag "code" must be "language-NAME", not {css_class!r}', index
                )

    def end_tag(self, tag: _Tag, index: int) -> None:
        name = tag.name
        if tag.attrs or tag.self_closing:
            self.problem(f'End tag "</{name}>" must not have attributes', index)
        if name not in ALLOWED_TAGS:
            self.problem(f'Unsupported end tag "{name}"', index)
            return
        if not self.stack:
            self.problem(f'Unexpected end tag "</{name}>"', index)
            return
        top = self.stack[-1]
        if top.name != name:
            self.problem(
                f'Unmatched end tag, expected "</{top.name}>", found "</{name}>"',
                index,
            )
            if any(open_tag.name == name for open_tag in self.stack):
                while self.stack[-1].name != name:
                    self.stack.pop()
                self.stack.pop()
            return
        self.stack.pop()
        self.close_entity(top)

    def close_entity(self, open_tag: _OpenTag) -> None:
        parent = self.stack[-1] if self.stack else None
        if open_tag.name == "code" and parent is not None and parent.name == "pre":
            language = _LANGUAGE_CLASS.fullmatch(open_tag.attrs.get("class") or "")
            if language is not None:
                parent.language = language.group(1)
            return
        length = self.pos16 - open_tag.start16
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _ENTITY_TYPES[open_tag.name],
            "offset": open_tag.start16,
            "length": length,
        }
        attrs = open_tag.attrs
        if open_tag.name == "a":
            entity["url"] = attrs.get("href") or ""
        elif open_tag.name == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id") or ""
        elif open_tag.name == "tg-time":
            unix = attrs.get("unix") or "0"
            entity["unix_time"] = int(unix) if unix.isdigit() else 0
            if attrs.get("format"):
                entity["date_time_format"] = attrs["format"]
        elif open_tag.name == "pre" and open_tag.language:
            entity["language"] = open_tag.language
        elif open_tag.name == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)

    def result(self) -> ParsedHtml:
        raw = "".join(self.out)
        stripped = raw.strip()
        lead = utf16_length(raw[: len(raw) - len(raw.lstrip())])
        size = utf16_length(stripped)
        entities: list[dict[str, Any]] = []
        for entity in self.entities:
            start = max(0, entity["offset"] - lead)
            end = min(size, entity["offset"] + entity["length"] - lead)
            if end > start:
                entities.append({**entity, "offset": start, "length": end - start})
        entities.sort(key=lambda item: (item["offset"], -item["length"]))
        return ParsedHtml(stripped, entities, self.problems)


def parse_telegram_html(text: str) -> ParsedHtml:
    """Parse ``text`` like the Bot API does for ``parse_mode="HTML"``.

    ``problems`` holds the syntax problems only (what Telegram reports as
    "can't parse entities"); see :func:`validate_telegram_html` for the length checks too.
    """
    return _Parser(text).run()


def validate_telegram_html(text: str) -> list[HtmlProblem]:
    """Every reason why Telegram would refuse ``text`` sent with ``parse_mode="HTML"``."""
    parsed = parse_telegram_html(text)
    problems = list(parsed.problems)
    if not parsed.text.strip():
        problems.append(HtmlProblem("message text is empty"))
    elif parsed.length > MAX_MESSAGE_LENGTH:
        problems.append(
            HtmlProblem(
                f"message is too long: {parsed.length} UTF-16 code units of visible text "
                f"(at most {MAX_MESSAGE_LENGTH})"
            )
        )
    return problems


def visible_text(text: str) -> str:
    """The text a user sees: tags removed, entities decoded, outer white space trimmed."""
    return parse_telegram_html(text).text


def visible_length(text: str) -> int:
    """Length of :func:`visible_text` in UTF-16 code units, as Telegram counts it."""
    return parse_telegram_html(text).length
