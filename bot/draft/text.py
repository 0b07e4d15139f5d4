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

from bot.digest.article import Article, blocks

# Lines a saved web page carries before its headline: navigation, not the story.
_CHROME = re.compile(
    r"^(?:accessibility links|skip to (?:main )?content|breaking news|menu|home|search|"
    r"sign in|log in|subscribe|share|advertisement|live|latest|news|top stories|"
    r"close|navigation|main menu|more|watch|listen)$",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^by [A-Z][\w.'\u2019-]*(?: [A-Z][\w.'\u2019-]*)*(?:,.*)?$", re.IGNORECASE)
_MONTHS = (
    r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|"
    r"Aug(?:ust|\.)?|Sep(?:t|tember|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_DATE_LINE = re.compile(
    rf"^(?:(?:Published|Updated|Posted)[: ]\s*)?(?:\w+day,? )?"
    rf"(?:{_MONTHS} \d{{1,2}},? \d{{4}}|\d{{1,2}} {_MONTHS},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
    r"(?:[ ,].{0,30})?$"
)
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$")
# "WASHINGTON, May 5 (Reuters) - " or "BEIJING -" opening the first paragraph.
DATELINE = re.compile(
    rf"^[A-Z][A-Z .'-]{{2,}}(?:, [A-Z][a-z]+)?(?:, {_MONTHS} \d{{1,2}})?"
    r"(?: \([^)]{1,40}\))? ?[-\u2013\u2014]+ "
)
_QUOTED = re.compile(r'"([^"]+)"')


def guess_headline(text: str) -> str | None:
    """The headline: the first block that is neither page chrome nor a byline or date.

    Kept to this one function so that a reader which recognises chrome itself can take its
    place. A headline has at least three words and does not run on like a paragraph.
    """
    for block in blocks(text):
        words = block.split()
        if _CHROME.match(block) or is_metadata(block) or len(words) < 3:
            continue
        if len(words) > 30:
            return None
        return block
    return None


def is_metadata(paragraph: str) -> bool:
    """A byline, a date line or an address on its own: about the story, not in it."""
    return bool(
        (_BYLINE.match(paragraph) and len(paragraph.split()) <= 12)
        or _DATE_LINE.match(paragraph)
        or _URL_LINE.match(paragraph)
    )


def byline(text: str) -> str | None:
    """The name a ``By NAME`` line gives, as the line writes it."""
    for line in text.splitlines():
        line = line.strip()
        if _BYLINE.match(line) and len(line.split()) <= 12:
            return line[3:].strip()
    return None


def date_line(text: str) -> str | None:
    """A line of its own that is a publication date."""
    return next(
        (line.strip() for line in text.splitlines() if _DATE_LINE.match(line.strip())), None
    )


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

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return self.article.paragraphs

    def content(self) -> list[int]:
        """Numbers of the paragraphs that are story, not byline or date lines."""
        return [n for n, p in enumerate(self.paragraphs, 1) if not is_metadata(p)]

    def plain(self, sentence: Sentence) -> str:
        """The sentence without a dateline ("BEIJING, May 5 -") that opens the story."""
        content = self.content()
        if content and sentence.paragraph == content[0] and sentence.start == 0:
            return DATELINE.sub("", sentence.text)
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
    return ReadArticle(article, headline, split)
