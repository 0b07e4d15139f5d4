"""The article as the digest cites it: a headline and numbered body paragraphs.

Paragraphs are the blank-line-separated blocks after the headline, numbered from 1. The page
boilerplate before the headline ("Accessibility links", "Breaking News") is not content; the
digest's ``title`` names the headline, so nothing here has to guess which block it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_SPACES = re.compile(r"\s+")
# Typographic quote marks and the odd dash that wire copy and hand-typed YAML disagree on.
_TYPOGRAPHIC = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "}
)


def normalise(text: str) -> str:
    """Fold white space and typographic quote marks so that verbatim means verbatim in words."""
    return _SPACES.sub(" ", text.translate(_TYPOGRAPHIC)).strip()


def blocks(text: str) -> list[str]:
    """Split text into its blank-line-separated blocks, each with its lines joined by spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [normalise(block) for block in _BLANK_LINES.split(text) if block.strip()]


@dataclass(frozen=True)
class Article:
    """The article text, its headline and its numbered paragraphs."""

    path: Path
    text: str
    headline: str | None
    paragraphs: tuple[str, ...]

    @classmethod
    def parse(cls, path: Path, text: str, headline: str) -> Article:
        """Cut ``text`` at ``headline``; without it every block counts as a paragraph."""
        all_blocks = blocks(text)
        wanted = normalise(headline)
        for index, block in enumerate(all_blocks):
            if block == wanted:
                return cls(path, text, block, tuple(all_blocks[index + 1 :]))
        return cls(path, text, None, tuple(all_blocks))

    def paragraph(self, number: int) -> str:
        """Paragraph ``number``, counted from 1."""
        if not 1 <= number <= len(self.paragraphs):
            raise IndexError(number)
        return self.paragraphs[number - 1]

    @property
    def normalised(self) -> str:
        """The whole text, normalised, for "does the article say this anywhere" checks."""
        return normalise(self.text)
