"""Grounding rules: every fact in the digest must be traceable to the article.

Each rule yields :class:`~bot.digest.problems.Problem` objects located at the YAML line of
the offending value. The rules, by name:

``title-not-headline``       the title is not the article's headline, block for block
``paragraph-out-of-range``   a citation names a paragraph the article does not have
``quote-not-verbatim``       a quote's text occurs nowhere in the article
``quote-wrong-paragraph``    a quote's text occurs in the article, but not where it is cited
``quote-not-quoted``         a quote's text is in its paragraph, but not inside one pair of
                             quotation marks there (so it is not words anyone said)
``quote-too-short``          a quote of fewer than three words, too short to stand alone
``figure-not-in-paragraph``  a figure's value does not occur in a paragraph it cites
``number-not-in-article``    a number written in digits that the article does not contain
``invented-date``            a month or weekday name that the article does not contain
``unknown-metadata``         source metadata that the article does not state (say ``unknown``);
                             its byline, date line and dateline state them
``name-not-in-article``      a capitalised word inside a sentence (a name) the article lacks
``name-not-in-paragraph``    an entity's name does not occur in a paragraph it cites
``role-not-in-article``      an entity's role is not how the article describes anyone
``unknown-speaker``          a quote or statement names a speaker missing from ``people``
``when-not-in-paragraph``    a timeline step's time is not the article's own wording
``summary-too-long``         the summary runs past the word budget
``lexicon-not-in-article``   a lexicon entry none of whose words or phrases the article uses
``lexicon-name-not-in-article`` a lexicon term with a capital letter (a name) that the
                             article does not write as given
``lexicon-twice``            a word or phrase listed twice in the lexicon
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from bot.digest.article import (
    Article,
    ArticleMetadata,
    normalise,
    parse_byline,
    parse_date,
)
from bot.digest.closest import closest_passage, describe, unquoted_words
from bot.digest.model import UNKNOWN, Cited, DigestDocument
from bot.digest.problems import Rule
from bot.digest.yamlsource import Location

SUMMARY_MAX_WORDS = 60
QUOTE_MIN_WORDS = 3

_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")
_QUOTED = re.compile(r'"([^"]+)"')
# A capitalised word that does not open a sentence: in English prose, a name.
_INNER_NAME = re.compile(
    r"(?<![.!?:;\n\u201c\"(]\s)(?<!^)(?<![.!?:;\n])\b[A-Z][\w'\u2019-]*(?:\.[A-Z]\.?)?"
)
_CALENDAR_WORDS = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
# Values that name files or are structural, not statements of fact.
_NOT_PROSE = {("article",)}
# A reader's question is not a statement of fact: it may name what the article does not.
_READER_WORDS = "question"
# Fields whose names have rules of their own (name-, role-, speaker-, title-, metadata rules).
_CHECKED_ELSEWHERE = {"name", "role", "speaker", "title"}

Finding = tuple[Location, Rule, str]
"""Where (a YAML location), which rule, and what is wrong."""


def canonical_number(token: str) -> str:
    """``12,500`` and ``12500`` are the same number; ``3.5`` keeps its point."""
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", token)


def numbers_in(text: str) -> set[str]:
    """Every number written in digits in ``text``, in canonical form."""
    return {canonical_number(token) for token in _NUMBER.findall(text)}


def _contains(haystack: str, needle: str) -> bool:
    return normalise(needle).casefold() in normalise(haystack).casefold()


def _strings(value: Any, location: Location) -> Iterator[tuple[Location, str]]:
    if isinstance(value, str):
        yield location, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*location, index))


def ground(document: DigestDocument, article: Article) -> list[Finding]:
    """Check ``document`` against ``article``; an empty list means every rule holds."""
    if article.headline is None:
        # Without the headline the paragraphs cannot be numbered: every other rule would
        # only echo this one.
        return list(_headline(document, article))
    findings: list[Finding] = []
    findings += _citations(document, article)
    findings += _quotes(document, article)
    findings += _in_cited_paragraph(document, article, "figures")
    findings += _in_cited_paragraph(document, article, "people")
    findings += _roles(document, article)
    findings += _in_cited_paragraph(document, article, "timeline")
    findings += _speakers(document)
    findings += _metadata(document, article)
    findings += _prose(document, article)
    findings += _lexicon(document, article)
    return findings


def _headline(document: DigestDocument, article: Article) -> Iterator[Finding]:
    if article.headline is None:
        yield (
            ("title",),
            "title-not-headline",
            f"the title {document.title!r} is not a line of the article, so paragraphs "
            "cannot be numbered: copy the headline exactly",
        )


def _cited_items(document: DigestDocument) -> Iterator[tuple[Location, list[int]]]:
    yield ("summary_cite",), document.summary_cite
    sections: dict[str, list[Any]] = {
        "key_points": document.key_points,
        "quotes": document.quotes,
        "statements": document.statements,
        "figures": document.figures,
        "people": document.people,
        "timeline": document.timeline,
        "open_questions": document.open_questions,
        "questions": document.questions,
    }
    for section, items in sections.items():
        for index, item in enumerate(items):
            yield (section, index, "cite"), item.cite


def _citations(document: DigestDocument, article: Article) -> Iterator[Finding]:
    count = len(article.paragraphs)
    for location, cite in _cited_items(document):
        for position, number in enumerate(cite):
            if not 1 <= number <= count:
                yield (
                    (*location, position),
                    "paragraph-out-of-range",
                    f"paragraph {number} does not exist: the article has paragraphs 1 to {count}",
                )


def _paragraphs(article: Article, cite: list[int]) -> list[tuple[int, str]]:
    return [(n, article.paragraph(n)) for n in cite if 1 <= n <= len(article.paragraphs)]


def _quotes(document: DigestDocument, article: Article) -> Iterator[Finding]:
    for index, quote in enumerate(document.quotes):
        wanted = normalise(quote.text)
        if len(wanted.split()) < QUOTE_MIN_WORDS:
            yield (
                ("quotes", index, "text"),
                "quote-too-short",
                f"{quote.text!r} has fewer than {QUOTE_MIN_WORDS} words",
            )
            continue
        cited = _paragraphs(article, quote.cite)
        if not cited:
            continue
        if any(wanted in span for _, p in cited for span in _QUOTED.findall(p)):
            continue
        holding = [paragraph for _, paragraph in cited if wanted in paragraph]
        if holding:
            narration = unquoted_words(wanted, holding[0])
            yield (
                ("quotes", index, "text"),
                "quote-not-quoted",
                f"{_clip(quote.text)!r} is in paragraph {_numbers(quote.cite)} but not "
                "inside one pair of its quotation marks"
                + (
                    f': it runs across "{_clip(narration, 40)}", which is outside them'
                    if narration
                    else ": none of it is inside them"
                ),
            )
            continue
        elsewhere = [n for n, p in enumerate(article.paragraphs, 1) if wanted in p]
        if elsewhere:
            yield (
                ("quotes", index, "cite"),
                "quote-wrong-paragraph",
                f"the quote is in paragraph {_numbers(elsewhere)}, not {_numbers(quote.cite)}",
            )
        else:
            yield (
                ("quotes", index, "text"),
                "quote-not-verbatim",
                f"{_clip(quote.text)!r} is not verbatim in paragraph {_numbers(quote.cite)}; "
                + _closest(quote.text, article, quote.cite),
            )


def _closest(quote: str, article: Article, cite: list[int]) -> str:
    """Where the misquote was likely copied from: the cited paragraphs first, then any."""
    passage = closest_passage(quote, _paragraphs(article, cite)) or closest_passage(
        quote, list(enumerate(article.paragraphs, 1))
    )
    return describe(passage, cite)


# The digest's fields that must stand in a paragraph the item cites, by section: the field,
# the rule it breaks otherwise, and the detail, with ``{value}`` and ``{cite}`` to fill in.
_CITED_WORDS: dict[str, tuple[str, Rule, str]] = {
    "figures": ("value", "figure-not-in-paragraph", "{value} does not occur in paragraph {cite}"),
    "people": ("name", "name-not-in-paragraph", "{value} does not occur in paragraph {cite}"),
    "timeline": (
        "when",
        "when-not-in-paragraph",
        "{value} is not how paragraph {cite} puts the time",
    ),
}


def _in_cited_paragraph(
    document: DigestDocument, article: Article, section: str
) -> Iterator[Finding]:
    """Each item's field (see :data:`_CITED_WORDS`) must occur, case and spacing folded, in
    a paragraph it cites."""
    field, rule, wording = _CITED_WORDS[section]
    items: Sequence[Cited] = getattr(document, section)
    for index, item in enumerate(items):
        value = str(getattr(item, field))
        cited = _paragraphs(article, item.cite)
        if cited and not any(_contains(paragraph, value) for _, paragraph in cited):
            detail = wording.format(value=repr(value), cite=_numbers(item.cite))
            yield (section, index, field), rule, detail


def _roles(document: DigestDocument, article: Article) -> Iterator[Finding]:
    for index, entity in enumerate(document.people):
        if entity.role is not None and not _contains(article.normalised, entity.role):
            yield (
                ("people", index, "role"),
                "role-not-in-article",
                f"the article never calls anyone {entity.role!r}",
            )


def _speakers(document: DigestDocument) -> Iterator[Finding]:
    speakers = [("quotes", i, q.speaker) for i, q in enumerate(document.quotes)]
    speakers += [("statements", i, s.speaker) for i, s in enumerate(document.statements)]
    for section, index, speaker in speakers:
        if document.entity(speaker) is None:
            yield (
                (section, index, "speaker"),
                "unknown-speaker",
                f"{speaker!r} is not listed under people",
            )


def _metadata(document: DigestDocument, article: Article) -> Iterator[Finding]:
    # Stated means stated as such: a line of its own (a date line, a publisher's name), the
    # byline, or the wire dateline; a word that merely occurs somewhere ("Harbor", "this
    # week") is not metadata.
    lines = {normalise(line).casefold() for line in article.text.splitlines() if line.strip()}
    for key, value in document.source.model_dump(exclude={"note"}).items():
        if value == UNKNOWN:
            continue
        stated = (
            normalise(value).casefold() in lines
            or (key == "byline" and f"by {normalise(value).casefold()}" in lines)
            or _stated_in_metadata(key, value, article.metadata)
        )
        if not stated:
            yield (
                ("source", key),
                "unknown-metadata",
                f"the article does not state its {key} as {value!r}: write {UNKNOWN!r}",
            )


def _stated_in_metadata(key: str, value: str, metadata: ArticleMetadata) -> bool:
    """Whether the byline, date line or dateline the article opens with state ``value``."""
    folded = normalise(value).casefold()
    dateline = metadata.dateline
    if key == "byline" and metadata.byline is not None:
        # The names without the job title, or some of several names: leaving out is not
        # inventing. A title, if given, must be the article's.
        claimed = parse_byline(value if value.lower().startswith("by ") else f"By {value}")
        if claimed is None:
            return False
        stated_names = {name.casefold() for name in metadata.byline.names}
        stated_title = (metadata.byline.title or "").casefold()
        return {name.casefold() for name in claimed.names} <= stated_names and (
            claimed.title is None or claimed.title.casefold() == stated_title
        )
    if key == "published":
        claimed_date = parse_date(value)
        if claimed_date is None:
            return False
        # "March 4" for "March 4, 2026" leaves the year out; "March 4, 2026" for a dateline
        # "March 4" would invent it.
        return any(
            (claimed_date.month, claimed_date.day) == (stated.month, stated.day)
            and claimed_date.year in (None, stated.year)
            for stated in metadata.dates
        )
    if key == "place" and dateline is not None:
        place = dateline.place.casefold()
        return folded in (place, place.split(",")[0].strip())
    if key == "publisher" and dateline is not None and dateline.agency is not None:
        return folded == dateline.agency.casefold()
    return False


def _prose(document: DigestDocument, article: Article) -> Iterator[Finding]:
    in_article = numbers_in(article.text)
    calendar_in_article = set(_CALENDAR_WORDS.findall(article.text))
    for location, text in _strings(document.model_dump(), ()):
        if location in _NOT_PROSE or (location[0] == "questions" and location[-1] == _READER_WORDS):
            continue
        for number in sorted(numbers_in(text) - in_article):
            yield (
                location,
                "number-not-in-article",
                f"{number} is not a number the article gives",
            )
        for word in sorted(set(_CALENDAR_WORDS.findall(text)) - calendar_in_article):
            yield location, "invented-date", f"the article never mentions {word}"
        if location[-1] in _CHECKED_ELSEWHERE or location[0] in ("source", "lexicon"):
            continue
        for name in sorted(set(_INNER_NAME.findall(text)) - set(_CALENDAR_WORDS.findall(text))):
            if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", article.text):
                yield location, "name-not-in-article", f"the article never names {name!r}"
    words = len(document.summary.split())
    if words > SUMMARY_MAX_WORDS:
        yield (
            ("summary",),
            "summary-too-long",
            f"{words} words; keep it to {SUMMARY_MAX_WORDS}",
        )


def _lexicon(document: DigestDocument, article: Article) -> Iterator[Finding]:
    """Each entry is anchored in the article; the names in it are the article's own.

    An entry equates a story's word with the ones readers may use instead ("evacuate",
    "move out", "leave"), so only one of its terms need occur in the article, as a word or
    the start of one, with a final "e" or "y" dropped ("evacuate" in "evacuated", "verify"
    in "verified"). A name is a fact, though: a term with a capital letter must occur in
    the article exactly as written.
    """
    text = article.normalised
    folded = text.casefold()
    seen: dict[str, Location] = {}
    for index, entry in enumerate(document.lexicon):
        anchored = False
        for position, term in enumerate(entry):
            location: Location = ("lexicon", index, position)
            wanted = normalise(term)
            if _word_start(folded, _stem(wanted.casefold())):
                anchored = True
            if wanted != wanted.casefold() and not _word_start(text, wanted):
                yield (
                    location,
                    "lexicon-name-not-in-article",
                    f"the article never writes {term!r}; a name must be written as the article "
                    "writes it, a common word in lower case",
                )
            first = seen.setdefault(wanted.casefold(), location)
            if first != location:
                yield (
                    location,
                    "lexicon-twice",
                    f"{term!r} is listed already (entry {int(first[1]) + 1}): merge the entries",
                )
        if not anchored:
            yield (
                ("lexicon", index),
                "lexicon-not-in-article",
                f"none of {', '.join(map(repr, entry))} occurs in the article: an entry must "
                "include the article's own word",
            )


def _stem(term: str) -> str:
    return term[:-1] if len(term) > 3 and term[-1] in "ey" else term


def _word_start(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}", haystack) is not None


def _numbers(numbers: list[int]) -> str:
    return ", ".join(str(number) for number in numbers)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
