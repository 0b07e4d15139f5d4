"""Free-text questions answered from the article: lexical retrieval, Telegram-free.

The engine returns data, never sentences of its own: the verbatim article sentences that
answer a question (each with its paragraph number), or the digest figure or quote it
matches, or a verdict (``not_in_article``, ``greeting``, ``thanks``) that a template words.

How a question is answered (:meth:`AnswerEngine.answer`):

1. A message made only of greeting or thanks words is recognised as such (:func:`social_kind`)
   before any retrieval.
2. The question and every document are reduced to *terms* by the digest's
   :class:`~bot.answers.text.Lexicon` (see :mod:`bot.answers.text`): case, plurals and
   number formats folded, question phrases made markers (``how many`` -> ``#qty``,
   ``when`` -> ``#time``), stop words dropped, and the words and phrases of each lexicon
   entry (the digest's ``lexicon``, plus the verbs of speech) made one concept term.
3. BM25 (:class:`~bot.answers.scoring.BM25`) over the article's sentences scores
   every sentence; the score is multiplied by the share of the question's (known) terms the
   sentence matches, as Lucene's coordination factor did, so that a short sentence matching
   one term does not beat one matching them all. Digest items are scored with the same
   statistics (the sentences' IDF and average length):

   * figures (value and label) and quotes (speaker, "said" and text) are *answer candidates*
     when the question asks for their kind: a quantity (``#qty``) for figures, someone's
     words (a verb of speech) for quotes. Such an item answers if it scores at least as well as the
     best sentence (it carries the curated label and citation); key figures first on a tie.
   * key points, statements, people and timeline events are *support*: they never answer,
     but the best one citing a sentence's paragraph may *bridge* the question terms the
     sentence lacks, adding :data:`SUPPORT_WEIGHT` times its score for those terms.
4. The winner is an answer only if its score reaches :data:`MIN_SCORE` and its *evidence*
   (its own terms, its paragraph(s), their support items, an item's context) covers
   :data:`MIN_COVERAGE` of the question's terms, where a term that neither the article nor
   the digest ever uses counts :data:`UNKNOWN_TERM_WEIGHT` times: "when was X born" names X,
   but nothing in the article speaks of "born" or of a date.
   Otherwise the answer is ``not_in_article``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.answers.language import QUANTITY, SPEECH
from bot.answers.scoring import BM25
from bot.answers.text import Lexicon, social_kind, split_sentences, words
from bot.digest import Digest
from bot.digest.model import Cited, Figure, Quote

AnswerKind = Literal["sentences", "figure", "quote", "not_in_article", "greeting", "thanks"]

SUPPORT_WEIGHT = 0.25
"""Weight of a support item's (key point, statement, person, event) score for the question
terms that a sentence of a paragraph it cites lacks; also the weight of such a bridged
term in the sentence's share of matched terms."""
MIN_SCORE = 1.0
"""Below this score nothing is an answer: one full match is worth 1.0 in an average-length
sentence for a term that about a third of the sentences contain (idf = 1). A safety net:
the coverage below is what tells answerable from unanswerable questions."""
MIN_COVERAGE = 0.6
"""Share of the question's terms that the best candidate's evidence must contain. On the
evaluation questions (tests/data/questions.yaml) no unanswerable question covers more
than 0.5 and every right answer covers at least 0.9: 0.6 sits in that gap."""
UNKNOWN_TERM_WEIGHT = 2.0
"""How much a question term counts in the coverage when neither the article nor the digest
ever uses it."""
CLOSE_TO_BEST = 0.75
"""Further passages are shown only with a score at least this share of the best one."""
MAX_PASSAGES = 3


# --- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A sentence of the article, verbatim, and the number of its paragraph (from 1)."""

    text: str
    paragraph: int


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
    score: float = 0.0

    @property
    def paragraph(self) -> int | None:
        """The paragraph that answers: the first passage's, or the item's first citation."""
        item: Cited | None = self.figure or self.quote
        if item is not None:
            return item.cite[0]
        return self.sentences[0].paragraph if self.sentences else None


@dataclass(frozen=True)
class _Document:
    """A scored text: its term counts, length and the paragraphs it belongs to or cites."""

    counts: Counter[str]
    length: int
    paragraphs: tuple[int, ...]


@dataclass(frozen=True)
class _Item:
    """A figure or a quote: an answer candidate, with the sentences it comes from."""

    document: _Document
    context: frozenset[str]
    """The terms of the item's context: evidence for the coverage, not scored."""
    passages: tuple[int, ...]
    figure: Figure | None = None
    quote: Quote | None = None


class AnswerEngine:
    """Answers questions from one digest's article; build once per digest, then reuse."""

    def __init__(self, digest: Digest) -> None:
        article = digest.article
        document = digest.document
        self.lexicon = Lexicon(document.lexicon)
        terms = self.lexicon.terms
        self.passages: tuple[Passage, ...] = tuple(
            Passage(sentence, number)
            for number, paragraph in enumerate(article.paragraphs, start=1)
            for sentence in split_sentences(paragraph)
        )
        self._sentences = [self._document(p.text, (p.paragraph,)) for p in self.passages]
        self.bm25 = BM25([list(s.counts.elements()) for s in self._sentences])
        self._paragraph_terms = {
            number: frozenset(terms(paragraph))
            for number, paragraph in enumerate(article.paragraphs, start=1)
        }
        support_texts: list[tuple[Cited, str]] = [
            *((point, point.text) for point in document.key_points),
            *((said, f"{said.speaker} said {said.text}") for said in document.statements),
            *(
                (entity, f"{entity.name} {entity.role or ''} {entity.description}")
                for entity in document.people
            ),
            *((event, f"{event.when} {event.event}") for event in document.timeline),
        ]
        self._support = [self._document(text, tuple(item.cite)) for item, text in support_texts]
        self._support_terms = {
            number: frozenset(
                term for doc in self._support if number in doc.paragraphs for term in doc.counts
            )
            for number in self._paragraph_terms
        }
        self._figures = [
            self._item(f"{f.value} {f.label}", f, f.value, figure=f) for f in document.figures
        ]
        self._quotes = [
            self._item(f"{q.speaker} said {q.text}", q, q.text, quote=q) for q in document.quotes
        ]
        self.vocabulary = frozenset(
            term
            for doc in [*self._sentences, *self._support]
            + [item.document for item in [*self._figures, *self._quotes]]
            for term in doc.counts
        ) | {term for item in [*self._figures, *self._quotes] for term in item.context}

    def _document(self, text: str, paragraphs: tuple[int, ...]) -> _Document:
        found = self.lexicon.terms(text)
        return _Document(Counter(found), len(found), paragraphs)

    def _item(
        self,
        text: str,
        item: Figure | Quote,
        words_in_article: str,
        *,
        figure: Figure | None = None,
        quote: Quote | None = None,
    ) -> _Item:
        """An answer candidate scored on ``text``, shown with the sentences holding its words."""
        return _Item(
            self._document(text, tuple(item.cite)),
            frozenset(self.lexicon.terms(item.context or "")),
            self._sources(item.cite, words_in_article),
            figure=figure,
            quote=quote,
        )

    def _sources(self, cite: Sequence[int], text: str) -> tuple[int, ...]:
        """The sentences of the cited paragraphs that hold an item's words, in article order."""
        wanted = " ".join(words(text))
        cited = [i for i, passage in enumerate(self.passages) if passage.paragraph in cite]
        inside = [i for i in cited if _overlaps(wanted, " ".join(words(self.passages[i].text)))]
        return tuple(inside or cited)

    # --- answering -------------------------------------------------------------------------

    def answer(self, question: str) -> Answer:
        """The best 1-3 sentences, figure or quote for ``question``, or a verdict."""
        kind = social_kind(question)
        if kind is not None:
            return Answer(kind)
        query = self.lexicon.terms(question)
        known = frozenset(term for term in query if term in self.vocabulary)
        if not known or not self.passages:
            return Answer("not_in_article")
        support = [self._term_scores(query, doc) for doc in self._support]

        sentence_scores = [self._score(query, known, doc, support) for doc in self._sentences]
        order = sorted(range(len(sentence_scores)), key=lambda i: (-sentence_scores[i], i))
        top = order[0]
        best_score = sentence_scores[top]

        items = [
            *(self._figures if QUANTITY in known else ()),
            *(self._quotes if SPEECH in known else ()),
        ]
        best_item: _Item | None = None
        item_score = 0.0
        for item in sorted(items, key=lambda item: not (item.figure and item.figure.key)):
            score = self._score(query, known, item.document, support)
            if score > item_score:  # strictly: an earlier (key) item keeps a tie
                best_item, item_score = item, score
        if best_item is not None and item_score < best_score:
            best_item = None  # a sentence beats the item; on a tie the item wins
        if best_item is not None:
            best_score = item_score

        if best_item is None:
            paragraphs: tuple[int, ...] = (self.passages[top].paragraph,)
            own: Iterable[str] = self._sentences[top].counts
            chosen = [i for i in order if sentence_scores[i] >= CLOSE_TO_BEST * best_score]
        else:
            paragraphs = best_item.document.paragraphs
            own = best_item.document.counts.keys() | best_item.context
            chosen = sorted(best_item.passages, key=lambda i: (-sentence_scores[i], i))
        evidence = self._evidence(paragraphs, own)
        if best_score < MIN_SCORE or self.coverage(query, evidence) < MIN_COVERAGE:
            return Answer("not_in_article", score=best_score)
        sentences = [self.passages[i] for i in chosen[:MAX_PASSAGES]]
        if best_item is None:
            return Answer("sentences", sentences, score=best_score)
        if best_item.figure is not None:
            return Answer("figure", sentences, figure=best_item.figure, score=best_score)
        return Answer("quote", sentences, quote=best_item.quote, score=best_score)

    def coverage(self, query: Sequence[str], evidence: frozenset[str]) -> float:
        """Share of the question's terms found in ``evidence``; unknown terms weigh more."""
        found = sum(1.0 for term in query if term in evidence)
        total = sum(1.0 if term in self.vocabulary else UNKNOWN_TERM_WEIGHT for term in query)
        return found / total if total else 0.0

    def _term_scores(self, query: Sequence[str], doc: _Document) -> dict[str, float]:
        """Each query term's BM25 contribution to ``doc`` (terms it lacks left out)."""
        contributions: dict[str, float] = {}
        for term in query:
            if term in doc.counts:
                value = self.bm25.score((term,), doc.counts, doc.length)
                contributions[term] = contributions.get(term, 0.0) + value
        return contributions

    def _score(
        self,
        query: Sequence[str],
        known: frozenset[str],
        doc: _Document,
        support: Sequence[dict[str, float]],
    ) -> float:
        """BM25 of ``doc``, plus the bridge of its support, times the share of terms matched.

        The bridge: the best support item citing one of ``doc``'s paragraphs may add
        :data:`SUPPORT_WEIGHT` times its score *for the terms ``doc`` lacks*; the digest's
        wording fills a gap in the article's, never counts twice what the article says.
        """
        own = self.bm25.score(query, doc.counts, doc.length)
        matched = known & doc.counts.keys()
        missing = known - matched
        bridge = 0.0
        bridged: frozenset[str] = frozenset()
        if missing:
            for scores, item in zip(support, self._support, strict=True):
                if not scores or not set(item.paragraphs) & set(doc.paragraphs):
                    continue
                value = sum(scores[term] for term in missing if term in scores)
                if value > bridge:
                    bridge = value
                    bridged = frozenset(term for term in missing if term in scores)
        share = (len(matched) + SUPPORT_WEIGHT * len(bridged)) / len(known)
        return (own + SUPPORT_WEIGHT * bridge) * share

    def _evidence(self, paragraphs: Iterable[int], own: Iterable[str]) -> frozenset[str]:
        evidence = set(own)
        for number in paragraphs:
            evidence |= self._paragraph_terms.get(number, frozenset())
            evidence |= self._support_terms.get(number, frozenset())
        return frozenset(evidence)


def _overlaps(item: str, sentence: str) -> bool:
    return bool(item) and bool(sentence) and (item in sentence or sentence in item)
