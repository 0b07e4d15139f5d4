"""An answer as data for a template: its kind, the article passages it shows, its item.

Also the rules every answer keeps when it picks passages: no sentence twice, and none that
only repeats the quote it follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from bot.answers.text import words
from bot.digest.model import Cited, EditorQuestion, Figure, Quote

AnswerKind = Literal[
    "sentences",
    "figure",
    "quote",
    "editor",
    "not_in_article",
    "other_language",
    "greeting",
    "thanks",
]

MAX_PASSAGES = 3
"""An answer shows at most this many article sentences: a reply, not a search result."""


@dataclass(frozen=True)
class Answer:
    """What the article says to a question, as data for a template.

    ``sentences`` holds 1-3 passages, best first, for the kinds ``sentences``, ``figure``
    and ``quote`` (for an item: the article sentences it comes from); it is empty otherwise.
    """

    kind: AnswerKind
    sentences: list[Passage] = field(default_factory=list)
    figure: Figure | None = None
    quote: Quote | None = None
    editor: EditorQuestion | None = None
    score: float = 0.0

    @property
    def paragraph(self) -> int | None:
        """The paragraph that answers: the first passage's, or the item's first citation."""
        item: Cited | None = self.figure or self.quote or self.editor
        if item is not None:
            return item.cite[0]
        return self.sentences[0].paragraph if self.sentences else None


@dataclass(frozen=True)
class Passage:
    """A sentence of the article, verbatim, and the number of its paragraph (from 1)."""

    text: str
    paragraph: int


def within(sentence: str, quote: str) -> bool:
    """Whether ``sentence`` says nothing beyond ``quote`` (quote marks and case aside)."""
    inner = _plain(sentence)
    return bool(inner) and inner in _plain(quote)


@lru_cache(maxsize=4096)
def _plain(text: str) -> str:
    """``text`` as its lower-cased words: what two copies of a sentence have in common."""
    return " ".join(words(text))


def unique(passages: Iterable[Passage], limit: int = MAX_PASSAGES) -> list[Passage]:
    """At most ``limit`` of ``passages`` without repeats: an answer never shows a sentence
    twice."""
    seen: set[str] = set()
    kept: list[Passage] = []
    for passage in passages:
        key = _plain(passage.text)
        if key not in seen:
            seen.add(key)
            kept.append(passage)
            if len(kept) == limit:
                break
    return kept
