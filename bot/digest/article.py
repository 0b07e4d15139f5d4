"""The article as the digest cites it: a headline, its metadata and numbered body paragraphs.

Paragraphs are the blank-line-separated blocks after the headline, numbered from 1. What a
saved web page carries around the story is metadata, not content: the page chrome before the
headline ("Accessibility links", "Breaking News", "Menu"), navigation lines between headline
and story ("Share", "Sign in"), a byline (``By NAME[, TITLE]``), a date line
(``March 4, 2026``) and a wire dateline opening the first paragraph (``CITY, Month D -``).
Those are read (by :mod:`bot.digest.metadata`) into :class:`ArticleMetadata` so that an
editor's paragraph 1 is the story's first paragraph, and so that the validator can accept a
byline or date the article states.
The digest's ``title`` names the headline, so nothing here has to guess which block it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.digest.metadata import (
    ArticleMetadata,
    Byline,
    Dateline,
    DateParts,
    MetadataReading,
    is_chrome,
    parse_byline,
    parse_date,
    parse_dateline,
)
from bot.digest.normal_form import normalise

# The metadata readers and normalise are imported from here by the digest's checks and the
# drafting tools: the article is where a reader looks for them first.
__all__ = [
    "Article",
    "ArticleMetadata",
    "Byline",
    "DateParts",
    "Dateline",
    "blocks",
    "is_chrome",
    "normalise",
    "parse_byline",
    "parse_date",
    "parse_dateline",
]

_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def _raw_blocks(text: str) -> list[list[str]]:
    """Each blank-line-separated block as its non-empty lines, normalised one by one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = []
    for block in _BLANK_LINES.split(text):
        lines = [normalise(line) for line in block.split("\n") if line.strip()]
        if lines:
            found.append(lines)
    return found


def blocks(text: str) -> list[str]:
    """Split text into its blank-line-separated blocks, each with its lines joined by spaces."""
    return [" ".join(lines) for lines in _raw_blocks(text)]


@dataclass(frozen=True)
class Article:
    """The article text, its headline, its metadata and its numbered paragraphs."""

    path: Path
    text: str
    headline: str | None
    paragraphs: tuple[str, ...]
    metadata: ArticleMetadata = field(default_factory=ArticleMetadata)

    @classmethod
    def parse(cls, path: Path, text: str, headline: str) -> Article:
        """Cut ``text`` at ``headline``; without it every block counts as a paragraph."""
        raw = _raw_blocks(text)
        joined = [" ".join(lines) for lines in raw]
        wanted = normalise(headline)
        if wanted not in joined:
            return cls(path, text, None, tuple(joined))
        start = joined.index(wanted)
        reading = MetadataReading()
        for lines in raw[:start]:
            for line in lines:
                reading.take(line, before_headline=True)
        body = start + 1
        first_lines: list[str] | None = None
        # Between the headline and the story: byline, date and navigation lines, in blocks of
        # their own or opening the first block of prose, which is paragraph 1.
        while body < len(raw) and first_lines is None:
            lines = raw[body]
            taken = 0
            while taken < len(lines) and reading.take(lines[taken], before_headline=False):
                taken += 1
            if taken < len(lines):
                first_lines = lines[taken:]
            else:
                body += 1
        paragraphs = [" ".join(first_lines)] if first_lines else []
        paragraphs += joined[body + 1 :]
        dateline = parse_dateline(paragraphs[0]) if paragraphs else None
        if dateline is not None:
            paragraphs[0] = paragraphs[0][len(dateline.text) :].strip()
        metadata = ArticleMetadata(
            tuple(reading.chrome), reading.byline, reading.date_line, dateline
        )
        return cls(path, text, joined[start], tuple(paragraphs), metadata)

    def paragraph(self, number: int) -> str:
        """Paragraph ``number``, counted from 1."""
        if not 1 <= number <= len(self.paragraphs):
            raise IndexError(number)
        return self.paragraphs[number - 1]

    @property
    def normalised(self) -> str:
        """The whole text, normalised, for "does the article say this anywhere" checks."""
        return normalise(self.text)
