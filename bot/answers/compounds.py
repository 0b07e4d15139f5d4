"""Closed compounds of a reader's question opened up the way the article writes them.

Readers close up compounds that a writer left open ("buyback" for "buy back"). A word the
article never uses is split in two when the article writes those two terms side by side;
only a pair the article has is a split, so "chairman" stays whole unless the article says
"chair man".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise

from bot.answers.text import Lexicon

COMPOUND_PART = 3
"""The shortest part a closed compound of the question is split into ("buy" of "buyback")."""
MAX_MEMO = 1 << 14
"""Words whose split (or none) is remembered: bounded, as the stemmer's cache is."""

_LETTERS = re.compile(r"[^\W\d_]+")


class Compounds:
    """The open compounds of one article, and the splitting of readers' closed ones."""

    def __init__(
        self, lexicon: Lexicon, sentences: Iterable[str], vocabulary: frozenset[str]
    ) -> None:
        self._lexicon = lexicon
        self._vocabulary = vocabulary
        # Consecutive terms of the article's sentences: the open compounds a reader may close.
        self._open = frozenset(
            pair for sentence in sentences for pair in pairwise(lexicon.terms(sentence))
        )
        self._splits: dict[str, str] = {}

    def split(self, question: str) -> str:
        """``question`` with each word the article never uses split in two words that the
        article writes side by side, where it can be."""
        return _LETTERS.sub(lambda match: self._split(match.group()), question)

    def _split(self, word: str) -> str:
        """``word``, or its two parts if it is a closed form of an open compound (memoised:
        readers' words repeat, and each try reduces a few parts to terms)."""
        found = self._splits.get(word)
        if found is None:
            found = word
            if len(word) >= 2 * COMPOUND_PART and not self._uses(word):
                for at in range(COMPOUND_PART, len(word) - COMPOUND_PART + 1):
                    head, tail = self._lexicon.terms(word[:at]), self._lexicon.terms(word[at:])
                    if len(head) == len(tail) == 1 and (head[0], tail[0]) in self._open:
                        found = f"{word[:at]} {word[at:]}"
                        break
            if len(self._splits) < MAX_MEMO:
                self._splits[word] = found
        return found

    def _uses(self, word: str) -> bool:
        """Whether the article or the digest uses ``word`` (as its one content term)."""
        found = self._lexicon.terms(word)
        return len(found) == 1 and found[0] in self._vocabulary
