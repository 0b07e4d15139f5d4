"""Text to retrieval terms, sentences and social messages: the engine's normalisation.

:meth:`Lexicon.terms` reduces a text to *terms*: case folding, dotted abbreviations joined
(``U.S.`` is ``us``, ``p.m.`` is ``pm``), number formats joined (``12,500``, ``12 500`` and
``12500`` are one term), question phrases replaced by markers (``how many`` -> ``#qty``,
``when`` -> ``#time``, ``why`` -> ``#why``, see :data:`~bot.answers.language.QUESTION_PHRASES`),
Snowball English stems (:func:`fold`), the lexicon's phrases and words replaced by their
concept, and stop words dropped. A text with a number (in digits or words: "nine", "a third")
also gets ``#qty``, one with a date or a clock time ``#time``: "how many ..." meets what
counts, "when ..." what dates. :meth:`Lexicon.answer_types` gives the other answer types a
document can serve (:func:`markers`: durations, reasons, verdicts, people, places, ages).

The lexicon is the generic verbs of speech and general-English equivalents
(:data:`~bot.answers.language.EQUIVALENTS`) plus the equivalences a digest lists under
``lexicon``: each entry is a group of words or phrases that mean the same in that story.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Literal

import snowballstemmer  # type: ignore[import-untyped]  # no type information shipped

from bot.answers.language import (
    AGE,
    COUNTED,
    COUNTED_FILLERS,
    DURATION,
    DURATION_UNITS,
    EQUIVALENTS,
    FOREIGN_FUNCTION_WORDS,
    GREETING_CORE,
    GREETING_FILLER,
    GREETING_PHRASES,
    IRREGULAR,
    LOCATIVES,
    MAX_COUNT_GAP,
    MAX_PARTICLE_GAP,
    MIN_FOREIGN_WORDS,
    NUMBER_WORDS,
    PARTICLES,
    PERSON,
    PERSON_WORDS,
    PLACE,
    PLACE_WORDS,
    POSSESSIVES,
    QUANTITY,
    QUESTION_PHRASES,
    REASON,
    REASON_WORDS,
    RELATIVE_PERIODS,
    RELATIVE_WORDS,
    SETTLE,
    SETTLE_WORDS,
    SPEECH,
    SPEECH_VERBS,
    STOP_WORDS,
    THANKS_CORE,
    THANKS_FILLER,
    TIME,
    TIME_WORDS,
    UNANIMOUS,
    UNANIMOUS_TALLY,
    YES_NO_OPENERS,
)
from bot.digest.article import normalise

# snowballstemmer ships no type information; its one call used here is typed in fold().
_ENGLISH = snowballstemmer.stemmer("english")

# --- words ---------------------------------------------------------------------------------

_INITIALISM = re.compile(r"\b(?:[a-z]\.){1,}[a-z]\b\.?")
_GROUPED_NUMBER = re.compile(r"\b\d{1,3}(?:[,\u00a0\u202f ]\d{3})+\b")
_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    # Typed without the apostrophe, as people do in chat ("why hasnt the council...").
    (re.compile(r"\b(is|are|was|were|has|have|had|do|does|did|could|would|should)nt\b"), r"\1 not"),
    (re.compile(r"'(?:s|re|ve|ll|d|m)\b|(?<=s)'"), ""),
)
_WORDS = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, with abbreviations, contractions and numbers tidied."""
    text = normalise(text).casefold()
    text = _INITIALISM.sub(lambda match: match.group().replace(".", ""), text)
    text = _GROUPED_NUMBER.sub(lambda match: re.sub(r"\D", "", match.group()), text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _WORDS.findall(text)


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """The Snowball (Porter 2) English stem of ``word``; irregular forms first, by list.

    Only has to fold the same way on both sides: ``identities`` and ``identity`` are both
    ``ident``, ``released`` and ``release`` both ``releas``. Numbers are kept as they are.
    """
    word = IRREGULAR.get(word, word)
    if len(word) <= 2 or not word.isalpha():
        return word
    stem: str = _ENGLISH.stemWord(word)
    return stem


# --- the lexicon ---------------------------------------------------------------------------

_QUESTION_PHRASES = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), stand_in) for pattern, stand_in in QUESTION_PHRASES
)
_NUMBER_TERMS = frozenset(fold(word) for word in NUMBER_WORDS)
_TIME_TERMS = frozenset(fold(word) for word in TIME_WORDS)
_PERIOD_TERMS = frozenset(fold(word) for word in RELATIVE_PERIODS)
_CLOCK = re.compile(
    r"\b\d{1,2}(?: \d\d)? (?:am|pm)\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2}\b"
)
"""A clock time ("7 pm", "3 40 am" once tidied) or a month and day ("May 23", "Oct 12")."""
_DURATION_TERMS = frozenset(fold(word) for word in DURATION_UNITS)
_REASON_TERMS = frozenset(fold(word) for word in REASON_WORDS)
_SETTLE_TERMS = frozenset(fold(word) for word in SETTLE_WORDS)
_PERSON_TERMS = frozenset(fold(word) for word in PERSON_WORDS)
_PLACE_TERMS = frozenset(fold(word) for word in PLACE_WORDS)
_CALENDAR = frozenset(word.capitalize() for word in TIME_WORDS)
_NAME = r"[A-Z][\w'.-]*"
_FULL_NAME = re.compile(rf"\b{_NAME}(?:\s+{_NAME})+")
_PLACED_NAME = re.compile(rf"\b(?:{'|'.join(sorted(LOCATIVES))})\s+(?:the\s+)?({_NAME})")
_AGE = re.compile(
    rf"{_NAME}, \d{{1,3}},|\b(?:\d{{1,3}}|[a-z]+)-year-old\b|\baged \d{{1,3}}\b"
    r"|\b(?:founded|established|built|opened|set up) in \d{4}\b"
)
"""An age: "Smith, 44,", "a nine-year-old boy", "aged 71", "founded in 1911"."""
_UNANIMOUS_TALLY = re.compile(rf"\b(?:{UNANIMOUS_TALLY})\b")
_REASON_PHRASES = re.compile(
    r"\b(?:so that|in order to|as a result|because of|owing to|thanks to|"
    r"put (?:\w+ ){0,3}?down to|attribut(?:e|es|ed) (?:\w+ ){0,3}?to|blam(?:e|es|ed) (?:\w+ ){0,3}?on)\b",
    re.I,
)


def _is_quantity(term: str) -> bool:
    return term[:1].isdigit() or term in _NUMBER_TERMS


def _is_time(term: str) -> bool:
    return term in _TIME_TERMS or (len(term) == 4 and term.isdigit() and term[:2] in ("19", "20"))


def markers(text: str, folded: Sequence[str]) -> list[str]:
    """The answer types beyond quantity and time that ``text`` can serve: a duration, a
    reason, a verdict, a person, a place (see :mod:`bot.answers.language`), from its folded
    words (stop words included: "because", "no") and, for names, its capitals. A question
    asks for one by its own phrases ("how long", "why", "who"...) or, for a verdict, by
    opening with "did", "is"..."""
    found: list[str] = []
    if _AGE.search(text):
        found.append(AGE)
    if any(
        _is_quantity(term) and any(unit in _DURATION_TERMS for unit in folded[at + 1 : at + 3])
        for at, term in enumerate(folded)
    ):
        found.append(DURATION)
    if _REASON_PHRASES.search(text) or any(term in _REASON_TERMS for term in folded):
        found.append(REASON)
    opener = re.match(r"\W*(\w+)", text)
    if (opener and opener.group(1).casefold() in YES_NO_OPENERS) or any(
        term in _SETTLE_TERMS for term in folded
    ):
        found.append(SETTLE)
    names = [name for name in _FULL_NAME.findall(text) if name.split()[0] not in _CALENDAR]
    if names or any(term in _PERSON_TERMS for term in folded):
        found.append(PERSON)
    placed = [name for name in _PLACED_NAME.findall(text) if name not in _CALENDAR]
    if placed or any(term in _PLACE_TERMS for term in folded):
        found.append(PLACE)
    return found


Phrase = tuple[str, ...]
"""A phrase as its folded words."""


class Lexicon:
    """Equivalent words and phrases, each group one concept term; built once per digest.

    ``entries`` are the digest's lexicon groups. The verbs of speech are always one group
    (:data:`~bot.answers.language.SPEECH`), and each of the general-English
    :data:`~bot.answers.language.EQUIVALENTS` is one too. Groups that share a word or phrase (after
    folding) are one concept: equivalence is transitive, and no word can mean two things.
    """

    def __init__(self, entries: Iterable[Sequence[str]] = ()) -> None:
        self._concept_of: dict[Phrase, str] = {}
        self._members: dict[str, set[Phrase]] = {}
        self._add(SPEECH_VERBS, SPEECH)
        for group in EQUIVALENTS:
            self._add(group)
        for entry in entries:
            self._add(entry)
        self.words: Mapping[str, str] = {
            form[0]: concept for form, concept in self._concept_of.items() if len(form) == 1
        }
        by_first: dict[str, list[tuple[Phrase, str]]] = {}
        for form, concept in self._concept_of.items():
            if len(form) > 1:
                by_first.setdefault(form[0], []).append((form, concept))
        # Longest first: "michael x" must win over a shorter phrase that starts alike.
        self.phrases: Mapping[str, list[tuple[Phrase, str]]] = {
            first: sorted(found, key=lambda pair: -len(pair[0]))
            for first, found in by_first.items()
        }

    def _add(self, entry: Sequence[str], name: str | None = None) -> None:
        forms = [form for form in (tuple(fold(w) for w in words(term)) for term in entry) if form]
        if not forms:
            return
        concepts = {self._concept_of[form] for form in forms if form in self._concept_of}
        if name is None:
            # The speech concept keeps its name through a merge: answering by quote needs it.
            known = sorted(concepts, key=lambda concept: (concept != SPEECH, concept))
            singles = [form[0] for form in forms if len(form) == 1]
            name = known[0] if known else singles[0] if singles else "_".join(forms[0])
        for other in concepts - {name}:
            for form in self._members.pop(other):
                self._concept_of[form] = name
                self._members.setdefault(name, set()).add(form)
        for form in forms:
            self._concept_of[form] = name
            self._members.setdefault(name, set()).add(form)

    def terms(self, text: str) -> list[str]:
        """The retrieval terms of ``text``, in order (see the module's docstring)."""
        joined = " ".join(words(text))
        for pattern, stand_in in _QUESTION_PHRASES:
            joined = pattern.sub(stand_in, joined)
        tokens = joined.split()
        folded = [fold(token) for token in tokens]
        result: list[str] = []
        position = 0
        while position < len(tokens):
            match = self._phrase_at(folded, position)
            if match is not None:
                concept, gap, end = match
                result.append(concept)
                result += [
                    self._term(tokens[i], folded[i]) for i in gap if tokens[i] not in STOP_WORDS
                ]
                position = end
                continue
            emphatic = (
                tokens[position] == "own" and position and tokens[position - 1] in POSSESSIVES
            )
            if tokens[position] not in STOP_WORDS and not emphatic:
                # "its own" is emphasis, not owning: "who owns X" is not answered by it.
                result.append(self._term(tokens[position], folded[position]))
            position += 1
        unanimous = self._term(UNANIMOUS, fold(UNANIMOUS))
        if unanimous not in result and _UNANIMOUS_TALLY.search(joined):
            result.append(unanimous)
        if QUANTITY not in result and any(_is_quantity(term) for term in result):
            result.append(QUANTITY)
        if TIME not in result and (
            any(_is_time(term) for term in result)
            or _CLOCK.search(joined)
            or any(
                first in RELATIVE_WORDS and fold(second) in _PERIOD_TERMS
                for first, second in pairwise(tokens)
            )
        ):
            result.append(TIME)
        return result

    def _counted(self, tokens: Sequence[str], folded: Sequence[str]) -> list[str]:
        """What the numbers of a text count, as ``#n:`` and a term: "57 days" gives
        ``#n:day``, as "how many days" does (:mod:`bot.answers.question`). What a number
        counts is the first word after it that is not a number or a function word."""
        found: list[str] = []
        for at in (at for at, term in enumerate(folded) if _is_quantity(term)):
            for after in range(at + 1, min(at + 1 + MAX_COUNT_GAP, len(tokens))):
                word = tokens[after]
                if _is_quantity(folded[after]) or (
                    word in STOP_WORDS and word not in COUNTED_FILLERS
                ):
                    continue
                counted = f"{COUNTED}{self._term(word, folded[after])}"
                if word.isalpha() and counted not in found:
                    found.append(counted)
                break
        return found

    def answer_types(self, text: str) -> list[str]:
        """The answer types a document's ``text`` can serve (see :func:`markers`)."""
        tokens = words(text)
        folded = [fold(token) for token in tokens]
        return markers(text, folded) + self._counted(tokens, folded)

    def concept(self, word: str) -> str:
        """The term of one word: its stem, or the concept of its group."""
        return self._term(word, fold(word))

    def _term(self, token: str, folded: str) -> str:
        return token if token.startswith("#") else self.words.get(folded, folded)

    def _phrase_at(self, folded: Sequence[str], start: int) -> tuple[str, range, int] | None:
        """The concept of the phrase starting at ``start``, the words inside it, and its end.

        A phrase's words follow one another, except that up to
        :data:`~bot.answers.language.MAX_PARTICLE_GAP` words may stand before a final
        particle ("take them back"); those words stay terms of their own.
        """
        for phrase, concept in self.phrases.get(folded[start], ()):
            head, last = phrase[:-1], phrase[-1]
            if tuple(folded[start : start + len(head)]) != head:
                continue
            after = start + len(head)
            widest = MAX_PARTICLE_GAP if last in PARTICLES else 0
            for gap in range(widest + 1):
                at = after + gap
                if at >= len(folded) or any(w.startswith("#") for w in folded[after:at]):
                    break
                if folded[at] == last:
                    return concept, range(after, at), at + 1
        return None


GENERIC = Lexicon()
"""The lexicon of a digest that lists none: only the generic verbs of speech and equivalents."""


def terms(text: str) -> list[str]:
    """The retrieval terms of ``text`` with no story's lexicon (see :meth:`Lexicon.terms`)."""
    return GENERIC.terms(text)


# --- sentences -----------------------------------------------------------------------------

_BOUNDARY = re.compile(r"""[.!?]["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Jr|Sr|No|vs|etc|"
    r"Inc|Ltd|Co|Corp|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\.)$"
)


def _opens_sentence(rest: str) -> bool:
    """Whether ``rest`` starts with a capitalised function word ("The", "It", "They"):
    after "7 a.m." or "the U.S." that begins a new sentence, where a name would not."""
    first = re.match(r"[\"'(\[]?([A-Z][a-z]*)\b", rest)
    return first is not None and first.group(1).casefold() in STOP_WORDS


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
        if _ABBREVIATION.search(paragraph[start:end]) and not _opens_sentence(
            paragraph[match.end() :]
        ):
            continue
        end += len(match.group().rstrip()) - 1
        sentences.append(paragraph[start:end].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


# --- language ----------------------------------------------------------------------------


def is_other_language(message: str, share: float) -> bool:
    """Whether more than ``share`` of the letters of ``message`` are outside the Latin script
    (Han, Cyrillic, Arabic...): a question the English article cannot be searched for."""
    letters = [char for char in message if char.isalpha()]
    if not letters:
        return False
    foreign = sum(1 for char in letters if not _is_latin(char))
    if foreign / len(letters) > share:
        return True
    # In the Latin script: clearly another language when its function words outnumber
    # English ones ("¿Qué dijo el alcalde sobre el puerto?").
    found = re.findall(r"[^\W\d_]+", message.casefold())
    other = sum(1 for word in found if word in FOREIGN_FUNCTION_WORDS)
    english = sum(1 for word in found if word in STOP_WORDS)
    return other >= MIN_FOREIGN_WORDS and other > english


@lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


# --- greetings and thanks ------------------------------------------------------------------


def social_kind(message: str) -> Literal["greeting", "thanks"] | None:
    """``greeting`` or ``thanks`` when the message is only that, else ``None``."""
    found = re.findall(r"[^\W\d_]+", message.casefold())
    if not found:
        return None
    phrase = " ".join(found)
    unique = set(found)
    if unique & THANKS_CORE and unique <= THANKS_CORE | THANKS_FILLER | GREETING_CORE:
        return "thanks"
    if phrase in GREETING_PHRASES:
        return "greeting"
    if unique & GREETING_CORE and unique <= GREETING_CORE | GREETING_FILLER:
        return "greeting"
    return None
