"""Figures: the numbers a story turns on, each as the article writes it, with what it counts.

Digits with their currency, scale and percent sign ("$4.2 million", "12%"), the hedge
before them ("about 12,500"), spelled-out amounts ("thousands", "three", "a third"), durations ("18
months") and scores or votes ("7-2"). Years, days of the month and clock times are dates,
left to the timeline.
"""

from __future__ import annotations

import re

from bot.draft.items import Drafted
from bot.draft.lexicon import words
from bot.draft.people import clip
from bot.draft.text import ReadArticle, Sentence

_HEDGE = (
    r"(?:about|around|nearly|almost|roughly|some|over|more than|less than|fewer than|"
    r"at least|up to|approximately|an estimated|close to|as many as|as much as|just over|"
    r"just under|under|only|above|below)"
)
_SCALE = r"(?:million|billion|trillion|thousand|hundred|bn|m)\b"
_DIGITS = (
    rf"(?:[$\u20ac\u00a3\u00a5]|US\$|USD ?)?\d+(?:,\d{{3}})*(?:\.\d+)?"
    rf"(?:\s?(?:%|percent\b|per cent\b|{_SCALE}))?(?:\s(?:{_SCALE}))?"
)
_SCORE = r"\d{1,3}-\d{1,3}(?![\d-])"
_FRACTION = r"(?:two[ -]thirds|three[ -]quarters|(?:a|one)[ -](?:third|quarter|fifth|tenth))"
_WORDS = (
    # Fractions first: "two thirds" is one figure, not "two" counting "thirds".
    rf"(?:{_FRACTION}|tens of thousands|hundreds of thousands|hundreds|thousands|millions|"
    r"billions|dozens|scores|a dozen|a hundred|a thousand|a million|half a million|two|three|"
    r"four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety)"
)
# "fell by a third", not "followed by a third company".
_CHANGED_BY = re.compile(
    r"\b(?:rose|rise[ns]?|fell|fall(?:s|en)?|grew|grow[ns]?|dropped|drops?|cut|increased?|"
    r"decreased?|declined?|shrank|shrunk|jumped|climbed|slipped|slid|reduced|raised|lowered|"
    r"expanded|swelled|dipped|plunged|soared)\s+(?:\w+\s+)?by\s$",
    re.IGNORECASE,
)
# "a 48-hour strike", "a 10-year plan": a number fused with its unit.
_COMPOUND = r"\d+(?:\.\d+)?-(?:second|minute|hour|day|week|month|year|mile|kilometre|kilometer|metre|meter|foot|point|seat|member|page)"
# "one in five nurses": a proportion.
_RATIO = r"(?:one|two|three|four|\d+) in (?:two|three|four|five|six|seven|eight|nine|ten|\d+)"
_FIGURE = re.compile(
    rf"(?<![\w.,$-])(?:{_HEDGE}\s)?(?:(?P<compound>{_COMPOUND})|(?P<ratio>{_RATIO})|(?P<score>{_SCORE})|(?P<digits>{_DIGITS})|(?P<words>{_WORDS}))"
    r"(?![\w-])",
    re.IGNORECASE,
)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
)
_DATE_AROUND = re.compile(
    rf"{_MONTH}\s$|^(?::\d\d|\s(?:{_MONTH}|a\.m\.|p\.m\.|am\b|pm\b|GMT|BST|ET\b))"
)
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
_UNIT = re.compile(
    r"^\s(?:of\s(?:the\s)?)?((?:[a-z][\w'-]*\s){0,3}?[a-z][\w'-]*?)"
    r"(?=[\s,.;:)\"]|$)(?<!\bthe)"
)
_STOP = words(
    "from in into to at on for by with that which who and or but because as than since "
    "during after before of is are was were will would have has had be been the a an "
    "said says this these those against today yesterday tomorrow now then last next ago "
    "earlier later over under about around up down per onto toward towards across through "
    "between within without upon via among beyond"
)
_DURATION = re.compile(
    r"^\s(?:of an? )?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b"
)
_MONEY = re.compile(r"[$\u20ac\u00a3\u00a5]|USD")


def _label(sentence: str, start: int, end: int, value: str) -> tuple[str, str | None]:
    """What the figure counts: the noun after it, else a kind of number; and a note."""
    words: list[str] = []
    rest = sentence[end:]
    # "thousands of residents" counts residents; "214 of the 600 farms" keeps its "of the".
    part = re.match(r"\s+(of\s+(?:the\s+)?\d[\d,]*\s+[a-z]+)", rest)
    if part:
        return part.group(1), None
    rest = re.sub(r"^\s+of\s+(?:the\s+)?", " ", rest)
    for word in re.findall(r"[\w'-]+|[^\w\s]", rest)[:6]:
        if not re.fullmatch(r"[\w'-]+", word) or word.casefold() in _STOP:
            break
        if words and any(w.isalpha() for w in words) and word.endswith("ed"):
            break  # "farms surveyed reported": the noun ended where the verb began
        words.append(word)
    while words and words[-1].casefold() in _STOP:
        words.pop()
    if words:
        return " ".join(words), None
    counted = re.search(r"\b([a-z][\w-]+) of\s$", sentence[:start])
    if counted and counted.group(1) not in _STOP:
        return counted.group(1), None  # "a crowd of 18,400"
    purpose = re.match(r"\s((?:on|for|in)\s[^,.;:()\"\d$]{3,60}?)(?=[,.;:()\"]|$)", sentence[end:])
    if _MONEY.search(value) and purpose:
        return " ".join(purpose.group(1).split()[:7]), None
    if _MONEY.search(value):
        return "amount of money", "what the amount is for: see the context"
    if re.search(r"%|per ?cent", value):
        return "percentage", "what the percentage is of: see the context"
    return "number", "what the number counts: see the context"


def _is_date(sentence: str, start: int, end: int, digits: str | None) -> bool:
    if digits is None:
        return False
    if _YEAR.match(digits) or re.match(r"^\d{1,2}(?:st|nd|rd|th)\b", sentence[start:]):
        return True
    return bool(
        _DATE_AROUND.search(sentence[:start][-12:]) or _DATE_AROUND.search(sentence[end : end + 8])
    )


def figures_in(sentence: Sentence) -> list[Drafted]:
    """Every figure in ``sentence`` outside its quotations (a number a speaker uses in
    passing, "eleven against eleven", is not one the story reports)."""
    found: list[Drafted] = []
    text = sentence.text
    quoted = [match.span() for match in re.finditer(r'"[^"]*"', text)]
    for match in _FIGURE.finditer(text):
        value = match.group().strip()
        if any(start <= match.start() < end for start, end in quoted):
            continue
        if _is_date(text, match.start(), match.end(), match.group("digits")):
            continue
        if match.group("digits") and re.search(
            r"(?<![.!?]\s)\b[A-Z][a-z]+\s$", text[: match.start()]
        ):
            continue  # "Pier 9", "Route 66": part of a name
        counted = re.match(r"\s(?:of\s)?([a-z][\w-]*)", text[match.end() :])
        if match.group("words") and re.search(rf"{_FRACTION}$", value, re.IGNORECASE):
            # A fraction: "fell by a third", "a quarter of the farms"; not "a third time".
            if not _CHANGED_BY.search(text, 0, match.start()) and not text[
                match.end() :
            ].startswith(" of "):
                continue
        elif match.group("words") and (counted is None or counted.group(1) in _STOP):
            continue  # "two" standing alone, or "eight or nine", is no figure; "two countries" is
        if match.group("words") and value.casefold() in {"some", "scores"}:
            continue
        if _is_digit_ordinal_or_part(text, match.end()):
            continue
        label, note = _label(text, match.start(), match.end(), value)
        duration = _DURATION.match(text[match.end() :])
        if duration:
            value = f"{value}{duration.group()}"
            label, note = "duration", None
        if match.group("score") and label == "number":
            voted = re.search(r"\bvot\w*\s$", text[: match.start()])
            label, note = ("vote" if voted else "score"), None
        item = Drafted(
            {
                "value": value,
                "label": label,
                "context": clip(text, 40),
                "cite": [sentence.paragraph],
            }
        )
        if note:
            item.notes.append(note)
        found.append(item)
    return found


def _is_digit_ordinal_or_part(text: str, end: int) -> bool:
    """ "10-year", "3rd": the number is part of a word, not a figure of its own."""
    return bool(re.match(r"-[a-z]|(?:st|nd|rd|th)\b", text[end:]))


def draft_figures(read: ReadArticle) -> list[Drafted]:
    """Figures in article order; the one the headline repeats (else the first) is key."""
    figures: list[Drafted] = []
    seen: set[tuple[str, int]] = set()
    for number in read.content():
        for sentence in read.sentences[number - 1]:
            for item in figures_in(sentence):
                value = (item.fields["value"].casefold(), number)
                if value not in seen:
                    seen.add(value)
                    figures.append(item)
    headline_numbers = set(re.findall(r"\d[\d,.]*\d|\d", read.headline))
    key = next(
        (
            f
            for f in figures
            if set(re.findall(r"\d[\d,.]*\d|\d", f.fields["value"])) & headline_numbers
        ),
        figures[0] if figures else None,
    )
    if key is not None:
        key.fields["key"] = True
    return figures
