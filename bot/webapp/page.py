"""The story page's content: the article's paragraphs with the digest's items marked in them.

Telegram-free and HTML-free: this module finds *where* each quote, figure and name of the
digest stands in the paragraphs it comes from and nests those spans; the page template
(``templates/page/story.html``) decides how they look. A span that cannot be placed (a
figure written differently from its value, say) is simply not marked: the page never shows
a mark the article's words do not carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bot.digest import Digest
from bot.digest.model import DigestDocument

MarkKind = str
"""``quote``, ``figure`` or ``name``."""


@dataclass
class Mark:
    """A span of a paragraph that an item of the digest stands for, with marks inside it."""

    start: int
    end: int
    kind: MarkKind
    entry: str
    """The id of the digest entry it opens (``quote-0``, ``figure-1``, ``entity-3``)."""
    children: list[Mark] = field(default_factory=list)


@dataclass(frozen=True)
class Segment:
    """A piece of a paragraph as the template renders it: plain text, or a mark."""

    text: str
    mark: Mark | None = None
    children: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class PageParagraph:
    number: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StoryPage:
    """Everything the page template needs besides the digest itself."""

    paragraphs: tuple[PageParagraph, ...]
    marked: frozenset[str]
    """The entries that have at least one mark in the text."""


_STRAIGHT: dict[str, str | int | None] = {
    "\u201c": '"',
    "\u201d": '"',
    "\u2018": "'",
    "\u2019": "'",
}
_STRAIGHTEN = str.maketrans(_STRAIGHT)


def _fold(text: str) -> str:
    """Straight quotes, so that a quote typed with typographic marks still matches.

    One character for one: offsets in the folded text are offsets in the original.
    """
    return text.translate(_STRAIGHTEN)


def _spans_of(paragraph: str, needle: str, *, whole_words: bool) -> Iterator[tuple[int, int]]:
    if not needle:
        return
    pattern = re.escape(_fold(needle))
    if whole_words:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    for found in re.finditer(
        pattern, _fold(paragraph), flags=re.IGNORECASE if not whole_words else 0
    ):
        yield found.start(), found.end()


def _candidate_marks(document: DigestDocument, number: int, paragraph: str) -> Iterator[Mark]:
    for index, quote in enumerate(document.quotes):
        if number in quote.cite:
            for start, end in _spans_of(paragraph, " ".join(quote.text.split()), whole_words=False):
                yield Mark(start, end, "quote", f"quote-{index}")
    for index, figure in enumerate(document.figures):
        if number in figure.cite:
            for start, end in _spans_of(paragraph, figure.value, whole_words=True):
                yield Mark(start, end, "figure", f"figure-{index}")
    for index, entity in enumerate(document.people):
        # A name is marked wherever the article writes it, cited there or not; a person is
        # marked by their surname too ("Roe said"), once the full name is known.
        names = {entity.name}
        words = entity.name.split()
        if entity.kind == "person" and len(words) > 1 and all(w[:1].isupper() for w in words):
            names.add(words[-1])
        for name in names:
            for start, end in _spans_of(paragraph, name, whole_words=True):
                yield Mark(start, end, "name", f"entity-{index}")


_PRIORITY = {"quote": 0, "figure": 1, "name": 2}


def nest(marks: Iterable[Mark]) -> list[Mark]:
    """Marks as a forest: a mark inside another becomes its child; a partial overlap loses."""
    ordered = sorted(marks, key=lambda mark: (mark.start, -mark.end, _PRIORITY[mark.kind]))
    roots: list[Mark] = []
    stack: list[Mark] = []
    for mark in ordered:
        while stack and stack[-1].end <= mark.start:
            stack.pop()
        if stack:
            parent = stack[-1]
            if mark.end > parent.end or (mark.start, mark.end) == (parent.start, parent.end):
                continue  # crosses its parent's end, or the same span again: not marked
            parent.children.append(mark)
        else:
            roots.append(mark)
        stack.append(mark)
    return roots


def segments(
    text: str, marks: list[Mark], start: int = 0, end: int | None = None
) -> tuple[Segment, ...]:
    """``text[start:end]`` cut into plain pieces and marks (recursively), in order."""
    end = len(text) if end is None else end
    pieces: list[Segment] = []
    position = start
    for mark in marks:
        if mark.start > position:
            pieces.append(Segment(text[position : mark.start]))
        pieces.append(
            Segment(
                text[mark.start : mark.end],
                mark,
                segments(text, mark.children, mark.start, mark.end) if mark.children else (),
            )
        )
        position = mark.end
    if position < end:
        pieces.append(Segment(text[position:end]))
    return tuple(pieces)


def _entries(marks: Iterable[Mark]) -> Iterator[str]:
    for mark in marks:
        yield mark.entry
        yield from _entries(mark.children)


def story_page(digest: Digest) -> StoryPage:
    """The article's paragraphs, numbered as the bot cites them, with the digest's marks."""
    paragraphs = []
    marked: set[str] = set()
    for number, text in enumerate(digest.article.paragraphs, start=1):
        forest = nest(_candidate_marks(digest.document, number, text))
        marked.update(_entries(forest))
        paragraphs.append(PageParagraph(number, segments(text, forest)))
    return StoryPage(tuple(paragraphs), frozenset(marked))
