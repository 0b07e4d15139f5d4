"""Free-text questions answered from the article: lexical retrieval, Telegram-free.

The engine returns data, never sentences of its own: the verbatim article sentences that
answer a question (each with its paragraph number), the digest figure, quote or editor's
question it matches, or a verdict (``not_in_article``, ``other_language``, ``greeting``,
``thanks``) that a template words.

How a question is answered (:meth:`AnswerEngine.answer`):

1. A message made only of greeting or thanks words is recognised as such (:func:`social_kind`);
   one written mostly outside the Latin script is ``other_language`` (the article is
   English: retrieval could only find stray names).
2. An editor's question (the digest's ``questions``) that shares :data:`EDITOR_MATCH` of its
   terms with the reader's, both ways, answers with the editor's words and citation.
3. A word of the question that the article never uses, but that splits into two terms the
   article writes side by side, is split (:meth:`AnswerEngine.split_compounds`: "buyback"
   finds "buy back").
   The question and every document are reduced to *terms* by the digest's
   :class:`~bot.answers.text.Lexicon` (see :mod:`bot.answers.text`): Snowball stems, number
   formats joined, general-English equivalents and the digest's ``lexicon`` made one concept
   term, stop words dropped, and the question's type made a marker (``how many`` -> ``#qty``,
   ``when`` -> ``#time``, ``who`` -> ``#who``...). Each document also carries the markers of
   the answer types it can serve (a number, a date, a duration, a name or role, a place, a
   reason, a verdict, an age, what is to come, what a number counts: ``#n:day`` for "57
   days" and "how many days"): a typed question meets a sentence of its type. A yes/no
   question asks for a verdict (``#yesno``) in place of its verdict verb: "did X agree" is
   settled by "X refused" too.
4. BM25 (:class:`~bot.answers.scoring.BM25`) over the article's sentences scores every
   sentence; the score is multiplied by the share of the question's (known) terms the
   sentence matches, as Lucene's coordination factor did, so that a short sentence matching
   one term does not beat one matching them all. Digest items are scored with the same
   statistics (the sentences' IDF and average length):

   * figures (value and label) answer a quantity question, quotes and statements (speaker,
     role, "said" and text) a question about someone's words, the speaker named in the
     question counting :data:`SPEAKER_BONUS` times; key points, people and timeline events
     answer any question, at :data:`ITEM_WEIGHT`, with the sentences of the paragraphs they
     cite. An item answers if it scores at least as well as the best sentence.
   * every score is weighed by the place of the paragraph (:data:`LEAD_BONUS`): news states
     its main facts first, so of two near-equal candidates the earlier one answers.
   * key points, statements, people and timeline events also *bridge*: the best one citing
     a sentence's paragraph adds :data:`SUPPORT_WEIGHT` times its score for the question
     terms the sentence lacks; so do the other sentences of its paragraph, at
     :data:`CONTEXT_WEIGHT` (a paragraph often names in one sentence what the next one says).
5. The winner is an answer only if its score reaches :data:`MIN_SCORE` and its *evidence*
   (its own terms, its paragraph(s), their support items, an item's context) covers
   :data:`MIN_COVERAGE` of the question's terms, where a term that neither the article nor
   the digest ever uses counts :data:`UNKNOWN_TERM_WEIGHT` times ("when was X born" names X,
   but nothing in the article speaks of "born" or of a date) and a known answer type
   :data:`MARKER_WEIGHT`. A verdict or what is to come counts only when found (a plain
   statement settles a yes/no question too), what a number counts never. Otherwise the
   answer is ``not_in_article``.
6. An answer never shows a sentence twice, and a quote is not followed by the sentences it
   is made of.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.answers.answer import Answer, Passage, unique, within
from bot.answers.compounds import Compounds
from bot.answers.language import COUNTED, FUTURE, QUANTITY, SETTLE, SPEECH
from bot.answers.question import question_terms
from bot.answers.scoring import BM25
from bot.answers.text import (
    Lexicon,
    is_other_language,
    social_kind,
    split_sentences,
    words,
)
from bot.digest import Digest
from bot.digest.model import Cited, EditorQuestion, Figure, Quote

CONTEXT_WEIGHT = 0.5
"""Weight of a question term that a sentence lacks but its paragraph has (an item: the
paragraph it cites first), scored as one occurrence (its idf) and in the share of terms."""
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
MARKER_WEIGHT = 0.5
"""How much an answer type (a marker such as ``#who``) counts in the coverage: most
paragraphs name someone or give a number, so finding one says less than finding a word."""
MARKER_SHARE = 0.5
"""How much an answer type counts in a candidate's share of the question's terms."""
CLOSE_TO_BEST = 0.75
"""Further passages are shown only with a score at least this share of the best one."""
ITEM_WEIGHT = 0.9
"""A digest item that is not a figure or a quote (a key point, statement, person, event)
answers for its cited paragraphs when its score, times this weight, beats every sentence:
the article's own sentence wins a near tie."""
SPEAKER_BONUS = 1.5
"""A quote or statement whose speaker the question names scores this many times more:
"what did X say" wants X's words before others' words about X."""
EDITOR_MATCH = 0.75
"""An editor's question answers a reader's when each covers this share of the other's terms
(on stems, markers included): a paraphrase close enough to be the same question."""
KEY_FIGURE_BONUS = 1.2
"""The key figure (the story's headline number) scores this many times more: a quantity
question that matches it nearly as well as another figure most likely means it."""
LEAD_BONUS = 0.1
"""News puts the main facts first (the inverted pyramid): a sentence or item of paragraph
``n`` scores ``1 + LEAD_BONUS / n`` times as much, so that of two near-equal candidates the
earlier one answers, while a clearly better later one still wins."""
NON_LATIN_SHARE = 0.5
"""A question whose letters are more than this share outside the Latin script is in another
language: the article is English, so retrieval could only find stray names."""


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
    speaker: frozenset[str] = frozenset()
    """The terms of a quote's or statement's speaker (for :data:`SPEAKER_BONUS`)."""
    weight: float = 1.0


class AnswerEngine:
    """Answers questions from one digest's article; build once per digest, then reuse."""

    def __init__(self, digest: Digest) -> None:
        article = digest.article
        document = digest.document
        self._document_model = document
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
            self._item(
                f"{self._who(q.speaker)} said {q.text}",
                q,
                q.text,
                quote=q,
                speaker=self._who(q.speaker),
            )
            for q in document.quotes
        ]
        self._said = [
            self._item(
                f"{self._who(said.speaker)} said {said.text}",
                said,
                said.text,
                speaker=self._who(said.speaker),
                weight=ITEM_WEIGHT,
            )
            for said in document.statements
        ]
        # Key points, people and timeline events answer for the paragraphs they cite.
        self._others = [
            self._item(text, item, text, weight=ITEM_WEIGHT)
            for item, text in support_texts
            if item not in document.statements
        ]
        self._editor = [
            (entry, frozenset(self.lexicon.terms(entry.question))) for entry in document.questions
        ]
        self.vocabulary = frozenset(
            term
            for doc in [*self._sentences, *self._support]
            + [item.document for item in [*self._figures, *self._quotes]]
            for term in doc.counts
        ) | {term for item in [*self._figures, *self._quotes] for term in item.context}
        self._compounds = Compounds(
            self.lexicon, (passage.text for passage in self.passages), self.vocabulary
        )

    def _who(self, speaker: str) -> str:
        """A speaker's name, role and description: "what did the match winner say" names them."""
        entity = self._document_model.entity(speaker)
        return f"{speaker} {entity.role or ''} {entity.description}" if entity else speaker

    def _document(self, text: str, paragraphs: tuple[int, ...]) -> _Document:
        found = self.lexicon.terms(text)
        kinds = [kind for kind in self.lexicon.answer_types(text) if kind not in found]
        # The answer types are marks, not words: they do not make a text longer.
        return _Document(Counter(found + kinds), len(found), paragraphs)

    def _item(
        self,
        text: str,
        item: Cited,
        words_in_article: str,
        *,
        figure: Figure | None = None,
        quote: Quote | None = None,
        speaker: str = "",
        weight: float = 1.0,
    ) -> _Item:
        """An answer candidate scored on ``text``, shown with the sentences holding its words."""
        context = getattr(item, "context", None) or ""
        return _Item(
            self._document(text, tuple(item.cite)),
            frozenset(self.lexicon.terms(context)),
            self._sources(item.cite, words_in_article),
            figure=figure,
            quote=quote,
            speaker=frozenset(self.lexicon.terms(speaker)),
            weight=weight,
        )

    def _sources(self, cite: Sequence[int], text: str) -> tuple[int, ...]:
        """The sentences of the cited paragraphs that hold an item's words, in article order."""
        wanted = " ".join(words(text))
        cited = [i for i, passage in enumerate(self.passages) if passage.paragraph in cite]
        inside = [i for i in cited if _overlaps(wanted, " ".join(words(self.passages[i].text)))]
        return tuple(inside or cited)

    # --- answering -------------------------------------------------------------------------

    def answer(self, question: str) -> Answer:
        """The editor's answer, or the best 1-3 sentences, figure or quote, or a verdict."""
        kind = social_kind(question)
        if kind is not None:
            return Answer(kind)
        if is_other_language(question, NON_LATIN_SHARE):
            return Answer("other_language")
        editor = self._editor_answer(frozenset(self.lexicon.terms(question)))
        if editor is not None:
            return editor
        query = self.query(self.split_compounds(question))
        known = frozenset(term for term in query if term in self.vocabulary)
        if not known or not self.passages:
            return Answer("not_in_article")
        support = [self._term_scores(query, doc) for doc in self._support]

        sentence_scores = [
            self._score(query, known, doc, support) * _lead(doc.paragraphs)
            for doc in self._sentences
        ]
        order = sorted(range(len(sentence_scores)), key=lambda i: (-sentence_scores[i], i))
        top = order[0]
        best_score = sentence_scores[top]

        items = [
            *(self._figures if QUANTITY in known else ()),
            *(self._quotes if SPEECH in known else ()),
            *(self._said if SPEECH in known else ()),
            *self._others,
        ]
        best_item: _Item | None = None
        item_score = 0.0
        for item in sorted(items, key=lambda item: not (item.figure and item.figure.key)):
            score = self._score(query, known, item.document, support) * item.weight
            score *= _lead(item.document.paragraphs)
            if item.speaker and item.speaker & (known - {SPEECH}):
                score *= SPEAKER_BONUS
            if item.figure is not None and item.figure.key:
                score *= KEY_FIGURE_BONUS
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
        if best_item is not None and best_item.quote is not None:
            # The quote is shown itself: only sentences that add to it, in article order.
            chosen = sorted(
                i for i in chosen if not within(self.passages[i].text, best_item.quote.text)
            )
        sentences = unique(self.passages[i] for i in chosen)
        if best_item is None or (best_item.figure is None and best_item.quote is None):
            return Answer("sentences", sentences, score=best_score)
        if best_item.figure is not None:
            return Answer("figure", sentences, figure=best_item.figure, score=best_score)
        return Answer("quote", sentences, quote=best_item.quote, score=best_score)

    def query(self, question: str) -> list[str]:
        """The terms a question is answered with (see :func:`question_terms`)."""
        return question_terms(self.lexicon, question, self.vocabulary)

    def split_compounds(self, question: str) -> str:
        """``question`` with its closed compounds opened as the article writes them
        (:class:`~bot.answers.compounds.Compounds`: "buyback" finds "buy back")."""
        return self._compounds.split(question)

    def _editor_answer(self, query: frozenset[str]) -> Answer | None:
        """The editor's answer to the listed question closest to ``query``, if close enough."""
        best: tuple[float, EditorQuestion] | None = None
        for entry, expected in self._editor:
            shared = len(query & expected)
            if not shared:
                continue
            closeness = min(shared / len(query), shared / len(expected))
            if closeness >= EDITOR_MATCH and (best is None or closeness > best[0]):
                best = (closeness, entry)
        if best is None:
            return None
        entry = best[1]
        sources = self._sources(entry.cite, entry.answer)
        return Answer(
            "editor",
            unique(self.passages[i] for i in sources),
            editor=entry,
            score=best[0],
        )

    def coverage(self, query: Sequence[str], evidence: frozenset[str]) -> float:
        """Share of the question's terms found in ``evidence``, weighed as step 5 of this
        module's docstring says."""

        def weight(term: str) -> float:
            if term not in self.vocabulary:
                return UNKNOWN_TERM_WEIGHT
            return MARKER_WEIGHT if term[0] == "#" else 1.0

        asked = [term for term in query if not term.startswith(COUNTED)]
        asked = [term for term in asked if term in evidence or term not in (SETTLE, FUTURE)]
        found = sum(weight(term) for term in asked if term in evidence)
        total = sum(weight(term) for term in asked)
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
        """BM25 of ``doc``, plus the bridges of its support and of its paragraph, times the
        share of terms matched (the paragraph's at :data:`CONTEXT_WEIGHT`).

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
        context = frozenset(
            term
            for term in missing - bridged
            if term in self._paragraph_terms.get(min(doc.paragraphs, default=0), ())
        )
        near = sum(self.bm25.idf(term) for term in context)
        share = (
            _weight(matched) + SUPPORT_WEIGHT * _weight(bridged) + CONTEXT_WEIGHT * _weight(context)
        ) / _weight(known)
        return (own + SUPPORT_WEIGHT * bridge + CONTEXT_WEIGHT * near) * share

    def _evidence(self, paragraphs: Iterable[int], own: Iterable[str]) -> frozenset[str]:
        evidence = set(own)
        for number in paragraphs:
            evidence |= self._paragraph_terms.get(number, frozenset())
            evidence |= self._support_terms.get(number, frozenset())
        return frozenset(evidence)


def _lead(paragraphs: Sequence[int]) -> float:
    """The weight of a text of ``paragraphs`` for its place in the article (:data:`LEAD_BONUS`)."""
    return 1.0 + LEAD_BONUS / min(paragraphs) if paragraphs else 1.0


def _weight(found: Iterable[str]) -> float:
    """How many terms ``found`` holds, an answer type counting :data:`MARKER_SHARE`."""
    return sum(MARKER_SHARE if term[0] == "#" else 1.0 for term in found)


def _overlaps(item: str, sentence: str) -> bool:
    return bool(item) and bool(sentence) and (item in sentence or sentence in item)
