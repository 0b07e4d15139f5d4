"""Free-text questions answered from the article: lexical retrieval, Telegram-free.

The engine returns data, never sentences of its own: the verbatim article sentences that
answer a question (each with its paragraph number), or the digest figure or quote it
matches, or a verdict (``not_in_article``, ``greeting``, ``thanks``) that a template words.

How a question is answered (:meth:`AnswerEngine.answer`):

1. A message made only of greeting or thanks words is recognised as such (:func:`social_kind`)
   before any retrieval.
2. The question and every document are reduced to *terms* by :func:`terms`: case folding,
   ``U.S.``/``United States`` as one token, number formats joined (``39,000``, ``39 000``
   and ``39000`` are one term), multi-word synonyms replaced as phrases (:data:`PHRASES`:
   ``send back`` -> ``repatriate``, ``how many`` -> the quantity marker ``#qty``, ``when``
   -> the time marker ``#time``), punctuation dropped, a small stop-word list
   (:data:`STOP_WORDS`), a light suffix folding (:func:`fold`) and a small list of this
   story's synonyms (:data:`SYNONYMS`). A text with a number also gets ``#qty``, one with a
   day, week or year gets ``#time``: "how many ..." meets what counts, "when ..." what dates.
3. BM25 (:class:`BM25`, k1 = :data:`K1`, b = :data:`B`) over the article's sentences scores
   every sentence; the score is multiplied by the share of the question's (known) terms the
   sentence matches, as Lucene's coordination factor did, so that a short sentence matching
   one term does not beat one matching them all. Digest items are scored with the same
   statistics (the sentences' IDF and average length):

   * figures (value and label) and quotes (speaker, "said" and text) are *answer candidates*
     when the question asks for their kind: a quantity (``#qty``) for figures, someone's
     words (``say``) for quotes. Such an item answers if it scores at least as well as the
     best sentence (it carries the curated label and citation); key figures first on a tie.
   * key points, statements, people and timeline events are *support*: they never answer,
     but the best one citing a sentence's paragraph may *bridge* the question terms the
     sentence lacks, adding :data:`SUPPORT_WEIGHT` times its score for those terms.
4. The winner is an answer only if its score reaches :data:`MIN_SCORE` and its *evidence*
   (its own terms, its paragraph(s), their support items, an item's context) covers
   :data:`MIN_COVERAGE` of the question's terms, where a term that neither the article nor
   the digest ever uses counts :data:`UNKNOWN_TERM_WEIGHT` times: "when was Chertoff born"
   names Chertoff, but nothing in the article speaks of "born" or of a date.
   Otherwise the answer is ``not_in_article``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bot.digest import Digest
from bot.digest.article import normalise
from bot.digest.model import Cited, Figure, Quote

__all__ = [
    "BM25",
    "Answer",
    "AnswerEngine",
    "AnswerKind",
    "Passage",
    "concept_map",
    "fold",
    "social_kind",
    "split_sentences",
    "terms",
]

AnswerKind = Literal["sentences", "figure", "quote", "not_in_article", "greeting", "thanks"]

# --- retrieval parameters ------------------------------------------------------------------

K1 = 1.2
"""BM25 term-frequency saturation."""
B = 0.75
"""BM25 length normalisation."""
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

QUANTITY = "#qty"
"""The marker term of a quantity: a number in a text, or "how many" in a question."""
TIME = "#time"
"""The marker term of a time: a day, week, year... in a text, or "when" in a question."""

# --- normalisation lists -------------------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _word_set(
    """
    a an the and or but of to in on at for from by with as into onto than then that this
    these those it its is are was were be been being am do does did doing done have has
    had having will would shall should can could may might must no so if what which
    who whom whose when where why how there here they them their theirs he him his she her
    hers we our ours i me my mine you your yours also just more most some any all both each
    other such only very too up out over again about regarding concerning tell know please
    happen happened happens mean means meant explain describe thing things anything
    something else like really exactly ok okay well get gets got getting people person
    persons involved involve whats many much one kind lot let issue issues topic topics
    subject subjects after before during through without because against among within
    while since until under between yet still already actually ever point purpose reason
    goal aim article story report text piece according news bot
    hi hello hey hiya howdy greetings thanks thank thx cheers
    """
)
"""Function words, question fillers, words about the source itself ("according to the
article") and greetings inside a question ("hi, what is Megaports?"), dropped before
folding. Small on purpose: content words of questions ("say", "want", "visit") are kept
and matched through synonyms. "not" is kept: "why hasn't China..." is about a refusal."""

IRREGULAR: Mapping[str, str] = MappingProxyType(
    {
        "said": "say",
        "told": "tell",
        "spoke": "speak",
        "spoken": "speak",
        "went": "go",
        "gone": "go",
        "going": "go",
        "goes": "go",
        "took": "take",
        "taken": "take",
        "taking": "take",
        "caught": "catch",
        "held": "hold",
        "met": "meet",
        "sent": "send",
        "sped": "speed",
        "used": "use",
        "freed": "free",
        "closer": "close",
        "faster": "fast",
        "quicker": "quick",
        "sooner": "soon",
    }
)
"""Irregular forms the suffix folding cannot reach."""

NUMBER_WORDS = frozenset(["hundred", "thousand", "million", "billion", "dozen"])
"""Words that make a text a quantity (besides digits); compared after folding."""
TIME_WORDS = _word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday today tonight yesterday
    tomorrow day week weekend month year decade now ago recently soon later earlier
    january february march april may june july august september october november december
    """
)
"""Words that make a text a time (besides a year such as 2005); compared after folding."""

PHRASES: tuple[tuple[str, str], ...] = (
    # Replaced in this order, as whole words, on the lower-cased text before tokenising.
    (r"how many|how much|number of|amount of|numbers?|figures?|statistics?|stats?", QUANTITY),
    (r"when|what time|what day|what date|how long ago", TIME),
    (r"short term|thus far|so far|up to now|until now", rf"\g<0> {TIME}"),
    (r"going on|go on|good (?:morning|afternoon|evening|day)", ""),
    (r"michael chertoff", "chertoff"),
    (
        r"(?:homeland security|dhs) (?:chief|secretary|head|boss|minister)"
        r"|(?:head|chief|secretary) of (?:the )?(?:usa )?(?:homeland security|dhs)",
        "chertoff",
    ),
    (r"united states(?: of america)?", "usa"),
    (
        r"(?:send|sent|sending|take|took|taken|taking|bring|brought|go|going|went|fly|flown)"
        r"((?: \w+){0,2}?) back",
        r"repatriate\1",
    ),
    (r"say no|said no|turn down|turned down", "refuse"),
    (r"let (?:\w+ )?(?:out|go)|letting (?:\w+ )?(?:out|go)|set free", "release"),
    (r"human trafficking|human smuggling|people smuggling", "smuggle"),
    (r"good for", "benefit"),
    (r"look for|looking for|search for", "detect"),
    (r"lock up|locked up|locking up", "detain"),
    (r"dirty bomb", "radioactive"),
    (r"call on|called on", "ask"),
)
"""Multi-word synonyms (regular expressions over whole words) and their one-word stand-ins."""

SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # concept: the words (any inflection) that stand for it in this story
        "agreement": ("agreement", "deal", "accord", "pact", "treaty"),
        "repatriate": (
            "repatriate",
            "repatriation",
            "deport",
            "deportation",
            "return",
            "expel",
            "accept",
        ),
        "port": ("port", "cargo", "container", "shipping", "shipment", "ship", "freight", "harbor"),
        "migrant": ("migrant", "immigrant", "migrate", "migration", "emigrant"),
        "smuggle": ("smuggle", "smuggler", "traffic", "trafficker", "trafficking"),
        "criminal": ("criminal", "crime", "gang", "mafia", "syndicate"),
        "organization": ("organization", "organisation", "group", "network", "ring"),
        "china": ("china", "beijing", "chinese", "prc"),
        "usa": ("usa", "us", "america", "american", "washington"),
        "chertoff": ("chertoff",),
        "detention": ("detention", "detain", "hold", "custody", "jail", "prison", "keep"),
        "radioactive": ("radioactive", "nuclear", "radiation", "radiological", "uranium"),
        "terror": ("terror", "terrorist", "terrorism"),
        "say": ("say", "tell", "talk", "speak", "comment", "add", "remark"),
        "discuss": ("discuss", "discussion", "negotiate", "negotiation"),
        "agree": ("agree", "promise", "pledge", "commit"),
        "laborer": ("laborer", "labourer", "worker"),
        "space": ("space", "room", "capacity", "crowded", "overcrowded", "full"),
        "spokesman": ("spokesman", "spokesperson", "spokeswoman", "spokesmen"),
        "reporter": ("reporter", "journalist", "media"),
        "release": ("release", "free"),
        "speed": ("speed", "fast", "quick", "hurry", "accelerate", "expedite"),
        "benefit": ("benefit", "help", "advantage", "gain"),
        "travel": ("visit", "trip", "tour", "travel", "stop", "go"),
        "ask": ("ask", "request", "press", "urge", "demand", "want"),
        "refuse": ("refuse", "refusal", "reject", "decline"),
        "screen": ("screen", "inspect", "inspection", "scan", "check"),
        "detect": ("detect", "spot", "find"),
        "deter": ("deter", "deterrent", "deterrence", "discourage"),
        "aviation": ("aviation", "airline", "airport", "air", "flight", "airplane", "aircraft"),
        "verify": ("verify", "verification", "confirm"),
        "identity": ("identity", "identify", "identification"),
        "meet": ("meet", "meeting"),
    }
)
"""This story's synonyms: every word listed (after folding) becomes its concept term."""

_GREETING_CORE = _word_set(
    "hi hello hey hiya howdy yo greetings morning afternoon evening hola salut sup"
)
_GREETING_FILLER = _word_set("good there bot all everyone folks again dear friend guys")
_THANKS_CORE = _word_set("thanks thank thx ty cheers appreciated appreciate ta merci")
_THANKS_FILLER = _word_set(
    "you so very much a lot many great ok okay cool nice awesome it that this helpful "
    "perfect bot again and for the info information help answer your"
)
_GREETING_PHRASES = frozenset(["how are you", "how are you doing", "whats up", "what s up"])


def fold(word: str) -> str:
    """A light suffix folding: plurals, -ing, -ed, -ly and a final e; irregular forms by list.

    Not a real stemmer: it only has to fold the same way on both sides (``identities`` and
    ``identity`` -> ``identity``, ``released`` and ``release`` -> ``releas``).
    """
    word = IRREGULAR.get(word, word)
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = _undouble(word[:-3])
    elif word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) >= 5 and not (word.endswith("eed") and len(word) < 6):
        word = _undouble(word[:-2])
    elif word.endswith("ly") and len(word) >= 6:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(stem: str) -> str:
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    return stem


def concept_map(synonyms: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Folded word -> concept; a word folded into two concepts is an error in the lists."""
    concepts: dict[str, str] = {}
    for concept, listed in synonyms.items():
        for word in listed:
            folded = fold(word)
            if concepts.setdefault(folded, concept) != concept:
                raise ValueError(f"{word!r} is a synonym of {concepts[folded]!r} and {concept!r}")
    return concepts


_CONCEPTS: Mapping[str, str] = MappingProxyType(concept_map(SYNONYMS))
_NUMBER_TERMS = frozenset(fold(word) for word in NUMBER_WORDS)
_TIME_TERMS = frozenset(fold(word) for word in TIME_WORDS)
_PHRASES = tuple((re.compile(rf"\b(?:{pattern})\b"), stand_in) for pattern, stand_in in PHRASES)
_US = re.compile(r"\bu\.\s?s\.?(?:\s?a\.?)?(?![a-z])")
_GROUPED_NUMBER = re.compile(r"\b\d{1,3}(?:[,\u00a0\u202f ]\d{3})+\b")
_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    # Typed without the apostrophe, as people do in chat ("why hasnt china...").
    (re.compile(r"\b(is|are|was|were|has|have|had|do|does|did|could|would|should)nt\b"), r"\1 not"),
    (re.compile(r"'(?:s|re|ve|ll|d|m)\b|(?<=s)'"), ""),
)
_WORDS = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, with ``U.S.``, contractions and numbers tidied."""
    text = normalise(text).casefold()
    text = _US.sub(" usa ", text)
    text = _GROUPED_NUMBER.sub(lambda match: re.sub(r"\D", "", match.group()), text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _WORDS.findall(text)


def terms(text: str) -> list[str]:
    """The retrieval terms of ``text``, in order (see the module's docstring)."""
    joined = " ".join(words(text))
    for pattern, stand_in in _PHRASES:
        joined = pattern.sub(stand_in, joined)
    result: list[str] = []
    for word in joined.split():
        if word.startswith("#"):
            result.append(word)
        elif word not in STOP_WORDS:
            folded = fold(word)
            result.append(_CONCEPTS.get(folded, folded))
    if QUANTITY not in result and any(
        term[0].isdigit() or term in _NUMBER_TERMS for term in result
    ):
        result.append(QUANTITY)
    if TIME not in result and any(
        term in _TIME_TERMS or (len(term) == 4 and term.isdigit() and term[:2] in ("19", "20"))
        for term in result
    ):
        result.append(TIME)
    return result


# --- sentences -----------------------------------------------------------------------------

_BOUNDARY = re.compile(r"""[.!?]["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Jr|Sr|No|vs|etc|"
    r"Inc|Ltd|Co|Corp|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\.)$"
)


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, verbatim: each is a substring of ``paragraph``.

    A sentence ends at ``.``, ``!`` or ``?`` (and any closing quote marks) followed by space
    and a capital, a digit or an opening quote; a period that closes an abbreviation such as
    ``U.S.`` or ``Mr.`` never ends one.
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.start() + 1
        if _ABBREVIATION.search(paragraph[start:end]):
            continue
        end += len(match.group().rstrip()) - 1
        sentences.append(paragraph[start:end].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


# --- BM25 ----------------------------------------------------------------------------------


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
        self.passages: tuple[Passage, ...] = tuple(
            Passage(sentence, number)
            for number, paragraph in enumerate(article.paragraphs, start=1)
            for sentence in split_sentences(paragraph)
        )
        self._sentences = [_document(p.text, (p.paragraph,)) for p in self.passages]
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
        self._support = [_document(text, tuple(item.cite)) for item, text in support_texts]
        self._support_terms = {
            number: frozenset(
                term for doc in self._support if number in doc.paragraphs for term in doc.counts
            )
            for number in self._paragraph_terms
        }
        self._figures = [
            _Item(
                _document(f"{f.value} {f.label}", tuple(f.cite)),
                frozenset(terms(f.context or "")),
                self._sources(f.cite, f.value),
                figure=f,
            )
            for f in document.figures
        ]
        self._quotes = [
            _Item(
                _document(f"{q.speaker} said {q.text}", tuple(q.cite)),
                frozenset(terms(q.context or "")),
                self._sources(q.cite, q.text),
                quote=q,
            )
            for q in document.quotes
        ]
        self.vocabulary = frozenset(
            term
            for doc in [*self._sentences, *self._support]
            + [item.document for item in [*self._figures, *self._quotes]]
            for term in doc.counts
        ) | {term for item in [*self._figures, *self._quotes] for term in item.context}

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
        query = terms(question)
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
            *(self._quotes if "say" in known else ()),
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


def _document(text: str, paragraphs: tuple[int, ...]) -> _Document:
    found = terms(text)
    return _Document(Counter(found), len(found), paragraphs)


def _overlaps(item: str, sentence: str) -> bool:
    return bool(item) and bool(sentence) and (item in sentence or sentence in item)


def social_kind(message: str) -> Literal["greeting", "thanks"] | None:
    """``greeting`` or ``thanks`` when the message is only that, else ``None``."""
    found = re.findall(r"[^\W\d_]+", message.casefold())
    if not found:
        return None
    phrase = " ".join(found)
    unique = set(found)
    if unique & _THANKS_CORE and unique <= _THANKS_CORE | _THANKS_FILLER | _GREETING_CORE:
        return "thanks"
    if phrase in _GREETING_PHRASES:
        return "greeting"
    if unique & _GREETING_CORE and unique <= _GREETING_CORE | _GREETING_FILLER:
        return "greeting"
    return None
