"""The article as the drafter reads it: headline, paragraphs, sentences and quote marks.

Sentences come from pysbd (rule-based, no model): it knows English abbreviations ("U.S.",
"Dr.", "Jan.") and keeps a quotation of several sentences together, which a split at every
full stop gets wrong on exactly the text a digest quotes. Paragraphs come from the digest's
own reader (:class:`bot.digest.Article`), so every citation counts paragraphs as ``check``
does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysbd

from bot.digest.article import (
    Article,
    is_chrome,
    normalise,
    parse_byline,
    parse_date,
    parse_dateline,
)

_QUOTED = re.compile(r'"([^"]+)"')
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def guess_headline(text: str) -> str | None:
    """The headline: the first block that is not page chrome, a byline or a date line.

    The digest's reader takes the headline from the digest's ``title``; a new article has
    none yet, so this one function guesses it, with the reader's own tests for metadata
    lines. A headline has at least three words and does not run on like a paragraph.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for block in _BLANK_LINES.split(text):
        lines = [line for line in block.splitlines() if line.strip()]
        if all(is_chrome(line) or is_metadata(line) for line in lines):
            continue
        joined = normalise(" ".join(lines))
        words = joined.split()
        if len(words) < 3:
            continue
        return joined if len(words) <= 30 else None
    return None


def is_metadata(line: str) -> bool:
    """A byline or a date line: about the story, not in it."""
    return parse_byline(line) is not None or parse_date(line) is not None


@dataclass(frozen=True)
class Sentence:
    """One sentence of a paragraph, with where it starts in the paragraph's text."""

    paragraph: int
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class QuoteMarks:
    """A pair of quotation marks in a paragraph: ``start`` and ``end`` are the marks."""

    paragraph: int
    start: int
    end: int
    text: str


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentences(number: int, paragraph: str) -> list[Sentence]:
    """The sentences of paragraph ``number``, in order, with their offsets."""
    found = []
    for span in _segmenter().segment(paragraph):
        text = span.sent.rstrip()
        start = span.start + (len(span.sent) - len(span.sent.lstrip()))
        if text.strip():
            found.append(Sentence(number, start, text.strip()))
    return found


def quote_marks(number: int, paragraph: str) -> list[QuoteMarks]:
    """Quotation mark pairs as ``check`` pairs them: left to right, one pair at a time."""
    return [
        QuoteMarks(number, match.start(), match.end() - 1, match.group(1))
        for match in _QUOTED.finditer(paragraph)
    ]


def open_quote(paragraph: str) -> bool:
    """Whether a quotation is left open at the paragraph's end (it goes on in the next)."""
    return paragraph.count('"') % 2 == 1


@dataclass(frozen=True)
class ReadArticle:
    """The article with its headline found and its paragraphs split into sentences."""

    article: Article
    headline: str
    sentences: tuple[tuple[Sentence, ...], ...]
    """Per paragraph (index 0 is paragraph 1)."""
    story: tuple[int, ...]
    """Numbers of the paragraphs that are story (the reader leaves metadata out; this also
    passes over a byline or date line it took for a paragraph)."""

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return self.article.paragraphs

    def content(self) -> list[int]:
        """Numbers of the paragraphs that are story, in order."""
        return list(self.story)

    def plain(self, sentence: Sentence) -> str:
        """The sentence without a wire dateline ("SPRINGFIELD, May 5 -") opening the story."""
        content = self.content()
        if content and sentence.paragraph == content[0] and sentence.start == 0:
            dateline = parse_dateline(sentence.text)
            if dateline is not None:
                return sentence.text[len(dateline.text) :].strip()
        return sentence.text

    def quoted(self, sentence: Sentence) -> bool:
        """Whether the sentence has quotation marks or lies inside a quotation."""
        if '"' in sentence.text:
            return True
        paragraph = self.paragraphs[sentence.paragraph - 1]
        return paragraph[: sentence.start].count('"') % 2 == 1


class NotAnArticle(ValueError):
    """The text has no line that can be its headline, or no paragraph after it."""


def read_article(path: Path, text: str) -> ReadArticle:
    """Find the headline and read the paragraphs after it as ``check`` will number them."""
    headline = guess_headline(text)
    if headline is None:
        raise NotAnArticle(f"{path}: no headline found (a short line before the first paragraph)")
    article = Article.parse(path, text, headline)
    split = tuple(tuple(sentences(n, p)) for n, p in enumerate(article.paragraphs, 1))
    story = tuple(n for n, p in enumerate(article.paragraphs, 1) if not is_metadata(p))
    return ReadArticle(article, headline, split, story)
