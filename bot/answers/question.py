"""A question's terms: what the reader asks, with a yes/no question typed as a verdict.

The lexicon already types a question by its opening ("how many" -> ``#qty``, "who" ->
``#who``); a yes/no question is typed here because its verb is what it asks about: "did X
agree to Y" is settled by "X refused Y" as well as by "X agreed".
"""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.answers.language import (
    COUNTED,
    COUNTED_FILLERS,
    PERSON,
    SETTLE,
    SOMEONE,
    STOP_WORDS,
    VERDICT_VERBS,
    YES_NO_OPENERS,
)
from bot.answers.text import Lexicon, fold, words

_YES_NO = re.compile(rf"\W*(?:{'|'.join(sorted(YES_NO_OPENERS))})\b", re.IGNORECASE)

_HOW_MANY = re.compile(
    rf"\b(?:how many|number of)(?: (?:{'|'.join(sorted(STOP_WORDS - COUNTED_FILLERS))}))* ([a-z]+)"
)
"""What a question counts: the first word after "how many" that is not a function word."""

_VERDICT_STEMS = frozenset(fold(verb) for verb in VERDICT_VERBS)


def question_terms(
    lexicon: Lexicon, question: str, vocabulary: Collection[str] | None = None
) -> list[str]:
    """The terms a question is answered with: its own, and what a yes/no one asks.

    With the ``vocabulary`` of the article and digest, a plain word for someone ("the
    woman", "the man") that the article never uses asks for a person: it names him or her.
    """
    query = lexicon.terms(question)
    counted = _HOW_MANY.search(" ".join(words(question)))
    if counted is not None:
        # "How many days": a count of days answers, not another number.
        query.append(f"{COUNTED}{lexicon.concept(counted.group(1))}")
    if vocabulary is not None:
        someone = {lexicon.concept(noun) for noun in SOMEONE}
        query = [PERSON if term in someone and term not in vocabulary else term for term in query]
    if SETTLE not in query and _YES_NO.match(question):
        asked = {fold(word) for word in words(question)} & _VERDICT_STEMS
        verdicts = {lexicon.words.get(stem, stem) for stem in asked}
        query = [SETTLE if term in verdicts else term for term in query]
        if SETTLE not in query:
            query.append(SETTLE)
    return query
