"""Okapi BM25, the relevance score the engine ranks sentences and digest items with."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

K1 = 1.2
"""BM25 term-frequency saturation."""
B = 0.75
"""BM25 length normalisation."""


class BM25:
    """Okapi BM25 with the statistics of ``corpus``; any bag of terms can be scored with them."""

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> None:
        self.k1 = k1
        self.b = b
        self.documents = [Counter(document) for document in corpus]
        self.lengths = [len(document) for document in corpus]
        self.size = len(corpus)
        self.average_length = sum(self.lengths) / self.size if self.size else 1.0
        frequency: Counter[str] = Counter()
        for document in self.documents:
            frequency.update(document.keys())
        self.document_frequency = frequency

    def idf(self, term: str) -> float:
        """Inverse document frequency, never negative (the "+1" form of BM25+ and Lucene)."""
        df = self.document_frequency.get(term, 0)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def score(self, query: Iterable[str], document: Counter[str], length: int) -> float:
        """BM25 of a document given as term counts and length (it need not be in the corpus)."""
        norm = self.k1 * (1.0 - self.b + self.b * length / (self.average_length or 1.0))
        total = 0.0
        for term in query:
            tf = document.get(term, 0)
            if tf:
                total += self.idf(term) * tf * (self.k1 + 1.0) / (tf + norm)
        return total

    def scores(self, query: Sequence[str]) -> list[float]:
        """The score of every corpus document, in corpus order."""
        return [
            self.score(query, document, length)
            for document, length in zip(self.documents, self.lengths, strict=True)
        ]
