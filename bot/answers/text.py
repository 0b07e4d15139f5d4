"""Text to retrieval terms, sentences and social messages: the engine's normalisation.

:meth:`Lexicon.terms` reduces a text to *terms*: case folding, dotted abbreviations joined
(``U.S.`` is ``us``, ``p.m.`` is ``pm``), number formats joined (``12,500``, ``12 500`` and
``12500`` are one term), question phrases replaced by markers (``how many`` -> ``#qty``,
``when`` -> ``#time``, see :data:`~bot.answers.language.QUESTION_PHRASES`), a light suffix
folding (:func:`fold`), the lexicon's phrases and words replaced by their concept, and stop
words dropped. A text with a number also gets ``#qty``, one with a day, week or year gets
``#time``: "how many ..." meets what counts, "when ..." what dates.

The lexicon is the generic verbs of speech plus the equivalences a digest lists under
``lexicon``: each entry is a group of words or phrases that mean the same in that story.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from bot.answers.language import (
    GREETING_CORE,
    GREETING_FILLER,
    GREETING_PHRASES,
    IRREGULAR,
    MAX_PARTICLE_GAP,
    NUMBER_WORDS,
    PARTICLES,
    QUANTITY,
    QUESTION_PHRASES,
    SPEECH,
    SPEECH_VERBS,
    STOP_WORDS,
    THANKS_CORE,
    THANKS_FILLER,
    TIME,
    TIME_WORDS,
)
from bot.digest.article import normalise

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


# --- the lexicon ---------------------------------------------------------------------------

_QUESTION_PHRASES = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), stand_in) for pattern, stand_in in QUESTION_PHRASES
)
_NUMBER_TERMS = frozenset(fold(word) for word in NUMBER_WORDS)
_TIME_TERMS = frozenset(fold(word) for word in TIME_WORDS)

Phrase = tuple[str, ...]
"""A phrase as its folded words."""


class Lexicon:
    """Equivalent words and phrases, each group one concept term; built once per digest.

    ``entries`` are the digest's lexicon groups. The verbs of speech are always one group
    (:data:`~bot.answers.language.SPEECH`). Groups that share a word or phrase (after
    folding) are one concept: equivalence is transitive, and no word can mean two things.
    """

    def __init__(self, entries: Iterable[Sequence[str]] = ()) -> None:
        self._concept_of: dict[Phrase, str] = {}
        self._members: dict[str, set[Phrase]] = {}
        self._add(SPEECH_VERBS, SPEECH)
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
            if tokens[position] not in STOP_WORDS:
                result.append(self._term(tokens[position], folded[position]))
            position += 1
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
"""The lexicon of a digest that lists none: only the generic verbs of speech."""


def terms(text: str) -> list[str]:
    """The retrieval terms of ``text`` with no story's lexicon (see :meth:`Lexicon.terms`)."""
    return GENERIC.terms(text)


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
