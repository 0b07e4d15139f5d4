"""What a saved web page carries around the story: page chrome, byline, date line, dateline.

Each reader takes one line (or the opening of the first paragraph) and says whether it is
that kind of metadata; :class:`MetadataReading` collects them while the article is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.digest.normal_form import normalise

# Navigation lines of saved news pages. Matched whole (case folded, trailing punctuation and
# arrows dropped), never as words inside a sentence: "Share" is chrome, "Share prices fell"
# is a paragraph.
CHROME_LINES = frozenset(
    {
        "accessibility links",
        "accessibility help",
        "skip to main content",
        "skip to content",
        "skip to navigation",
        "skip to footer",
        "skip navigation",
        "breaking news",
        "menu",
        "main menu",
        "open menu",
        "close menu",
        "close",
        "search",
        "search news",
        "home",
        "sign in",
        "sign up",
        "sign out",
        "log in",
        "login",
        "register",
        "subscribe",
        "subscribe now",
        "newsletter",
        "newsletters",
        "share",
        "share this",
        "share this article",
        "share this story",
        "share this page",
        "share on facebook",
        "share on twitter",
        "share on x",
        "share on linkedin",
        "share via email",
        "copy link",
        "email",
        "print",
        "save",
        "save article",
        "listen",
        "listen to this article",
        "comments",
        "follow",
        "advertisement",
        "sponsored",
        "live",
        "watch live",
        "more",
        "back",
        "back to top",
    }
)

_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
# Full names and the abbreviations papers use ("Jan.", "Sept.", "Sep"), longest first so the
# alternation never stops at a prefix.
_MONTH_NAMES = sorted({*_MONTHS, *(name[:3] for name in _MONTHS), "sept"}, key=len, reverse=True)
_MONTH = r"(?:" + "|".join(name.capitalize() for name in _MONTH_NAMES) + r")\.?"
_WEEKDAY = (
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r"|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?,?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]|2\d)\d\d"
_CLOCK = (
    r"(?:\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?)"
    r"(?:\s+(?:[A-Z]{2,4}|UTC[+-]\d{1,2}))?"
)
# "March 4, 2026", "4 March 2026", "Tue 4 Mar 2026", "2026-03-04", with an optional
# "Updated"/"Published" prefix, time of day and zone.
_DATE_BODY = (
    rf"(?:{_WEEKDAY}\s+)?(?:{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_YEAR}-\d\d-\d\d)"
)
_DATE_LINE = re.compile(
    r"(?:(?:Last\s+)?(?:Updated|Published|Posted|First\s+published|Modified)(?:\s+on)?:?\s+)?"
    rf"(?P<date>{_DATE_BODY})(?:,?\s+(?:at\s+)?{_CLOCK})?\.?",
    re.IGNORECASE,
)
_DATE_PARTS = re.compile(
    rf"(?:{_WEEKDAY}\s+)?(?:(?P<month1>{_MONTH})\s+(?P<day1>{_DAY})(?:,?\s+(?P<year1>{_YEAR}))?"
    rf"|(?P<day2>{_DAY})\s+(?P<month2>{_MONTH})(?:,?\s+(?P<year2>{_YEAR}))?"
    rf"|(?P<year3>{_YEAR})-(?P<month3>\d\d)-(?P<day3>\d\d))",
    re.IGNORECASE,
)

# Words that make a byline segment a job title or a desk rather than a name.
_TITLE_WORDS = frozenset(
    [
        "correspondent",
        "reporter",
        "editor",
        "writer",
        "writers",
        "staff",
        "bureau",
        "chief",
        "columnist",
        "contributor",
        "analyst",
        "producer",
        "desk",
        "journalist",
        "journalists",
        "correspondents",
        "reporters",
        "editors",
        "contributors",
        "photographer",
        "service",
        "press",
        "news",
        "wire",
        "agency",
        "senior",
        "special",
    ]
)
# Lower-case particles names carry ("Ursula von der Leyen", "Luis de Souza").
_NAME_PARTICLES = frozenset(
    [
        "de",
        "da",
        "del",
        "della",
        "der",
        "di",
        "du",
        "la",
        "le",
        "van",
        "von",
        "bin",
        "al",
        "dos",
        "das",
        "ter",
    ]
)
_NAME_WORD = re.compile(r"[A-Z][\w'\u2019.-]*$|[A-Z]\.$")
_BYLINE = re.compile(
    r"(?:(?:Story|Written|Words|Reporting|Report)\s+by|By|BY)\s+(?P<rest>\S.*?)"
    # "By Jane Roe in Springfield": where the reporter filed from, kept with the title.
    r"(?:\s+(?P<filed>in\s+[A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,3}))?"
)
_BYLINE_MAX_WORDS = 16

# A wire dateline: "SPRINGFIELD, March 4 -", "GENEVA (Reuters) -", "Springfield, Jan. 16
# (AP) —". The place is in capitals, or followed by a date or an agency that marks it.
_PLACE_WORD = r"[A-Z][\w.'\u2019]*"
_DATELINE = re.compile(
    rf"(?P<place>{_PLACE_WORD}(?:[ -]{_PLACE_WORD}){{0,4}})"
    rf"(?:,\s+(?P<region>(?!{_MONTH}\s)[A-Z][\w.]*(?:\s[A-Z][\w.]*)?))?"
    rf"(?:,\s+(?P<date>{_MONTH}\s+{_DAY}(?:,\s+{_YEAR})?|{_DAY}\s+{_MONTH}))?"
    r"(?:\s+\((?P<agency>[A-Z][^()]{0,40})\))?"
    r"\s*(?:--|[-\u2013\u2014])\s+(?P<rest>[A-Z0-9\"'].*)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Byline:
    """Who the article says wrote it: ``By NAME[, NAME and NAME][, TITLE]``."""

    names: tuple[str, ...]
    title: str | None
    line: str


@dataclass(frozen=True)
class DateParts:
    """A calendar date as the text gives it; ``year`` is None when the text names none."""

    month: int
    day: int
    year: int | None


@dataclass(frozen=True)
class Dateline:
    """The wire dateline opening the first paragraph, as written: ``CITY, Month D (Agency) -``."""

    place: str
    date: str | None
    agency: str | None
    text: str


@dataclass(frozen=True)
class ArticleMetadata:
    """Everything around the story that is not a paragraph of it."""

    chrome: tuple[str, ...] = ()
    """Page lines before the headline and navigation lines after it, in order."""
    byline: Byline | None = None
    date_line: str | None = None
    """The line that dates the page ("Updated 4 March 2026 10:32 GMT"), as written."""
    dateline: Dateline | None = None

    @property
    def dates(self) -> tuple[DateParts, ...]:
        """The dates the article states as its own, from its date line and its dateline."""
        found = []
        for text in (self.date_line, self.dateline.date if self.dateline else None):
            parts = parse_date(text) if text else None
            if parts is not None:
                found.append(parts)
        return tuple(found)


# Arrows and separators menus put around their labels.
_CHROME_MARKS = " .:|<>\u00ab\u00bb\u2039\u203a\u2190\u2192"


_READING_TIME = re.compile(
    r"(?:reading time:?\s*)?\d{1,3}\s*(?:-\s*)?min(?:ute)?s?(?:\s+read)?", re.IGNORECASE
)
_CLOCK_ONLY = re.compile(rf"(?:at\s+)?{_CLOCK}", re.IGNORECASE)


def is_chrome(line: str) -> bool:
    """Whether ``line`` is a navigation line of a saved page ("Menu", "Share this article")."""
    folded = normalise(line).casefold().strip(_CHROME_MARKS)
    return folded in CHROME_LINES or _READING_TIME.fullmatch(folded) is not None


def parse_date(text: str) -> DateParts | None:
    """The date ``text`` names, if it is one (and only one, with time and prefix allowed)."""
    line = _DATE_LINE.fullmatch(normalise(text))
    if line is None:
        return None
    parts = _DATE_PARTS.fullmatch(line["date"])
    if parts is None:  # pragma: no cover - _DATE_BODY and _DATE_PARTS accept the same dates
        return None
    if parts["year3"]:
        month, day, year = int(parts["month3"]), int(parts["day3"]), int(parts["year3"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return DateParts(month, day, year)
    month_name = (parts["month1"] or parts["month2"]).rstrip(".").casefold()
    day_text = re.sub(r"\D", "", parts["day1"] or parts["day2"])
    year_text = parts["year1"] or parts["year2"]
    month = next(n for name, n in _MONTHS.items() if name.startswith(month_name[:3]))
    return DateParts(month, int(day_text), int(year_text) if year_text else None)


def parse_byline(line: str) -> Byline | None:
    """``By A``, ``By A, TITLE``, ``By A and B``, ``By A, B and C[, TITLE]``; else None."""
    line = normalise(line)
    match = _BYLINE.fullmatch(line)
    if match is None or len(line.split()) > _BYLINE_MAX_WORDS or line.endswith(("?", "!")):
        return None
    segments = [segment.strip() for segment in match["rest"].split(",")]
    if match["filed"]:
        segments.append(match["filed"])
    names: list[str] = []
    title: str | None = None
    for position, segment in enumerate(segments):
        candidates = [
            part.strip() for part in re.split(r"^and\s+|\s+and\s+|\s*&\s*", segment) if part
        ]
        if candidates and all(_is_name(candidate) for candidate in candidates):
            names += candidates
            continue
        if position == 0:
            return None
        title = ", ".join(segments[position:])
        break
    if not names or (title is not None and title.endswith(".") and len(title.split()) > 6):
        return None
    return Byline(tuple(names), title, line)


def _is_name(text: str) -> bool:
    words = text.split()
    if not 2 <= len(words) <= 5 or words[-1].rstrip(".").casefold() in _MONTHS:
        return False
    if any(word.casefold().strip(".") in _TITLE_WORDS for word in words):
        return False
    return all(_NAME_WORD.match(word) or word in _NAME_PARTICLES for word in words) and bool(
        _NAME_WORD.match(words[0])
    )


def parse_dateline(paragraph: str) -> Dateline | None:
    """The wire dateline opening ``paragraph``, if it has one, with the text after it."""
    match = _DATELINE.match(paragraph)
    if match is None:
        return None
    place = match["place"]
    # Without a date or an agency only capitals mark a place: "Officials - at first - said"
    # must stay a sentence.
    if match["date"] is None and match["agency"] is None and place != place.upper():
        return None
    if match["region"]:
        place = f"{place}, {match['region']}"
    if not any(character.isalpha() for character in place):
        return None
    text = paragraph[: match.start("rest")].strip()
    return Dateline(place, match["date"], match["agency"], text)


def _metadata_line(line: str) -> str | None:
    """Which kind of metadata ``line`` is ("chrome", "byline", "date"), or None for prose."""
    if is_chrome(line) or _CLOCK_ONLY.fullmatch(line):
        # A time of day on its own ("4 March 2026 | 10:32") only completes a date line.
        return "chrome"
    if parse_byline(line) is not None:
        return "byline"
    if parse_date(line) is not None:
        return "date"
    return None


def _line_parts(line: str) -> list[str]:
    # Pages often put byline and date on one line: "By Jane Roe | March 4, 2026".
    return [part.strip() for part in re.split(r"\s+[|\u00b7\u2022]\s+", line) if part.strip()]


@dataclass
class MetadataReading:
    """The metadata found so far while an article is cut at its headline."""

    chrome: list[str] = field(default_factory=list)
    byline: Byline | None = None
    date_line: str | None = None

    def take(self, line: str, *, before_headline: bool) -> bool:
        """Record ``line`` if it is metadata; before the headline every line is."""
        parts = _line_parts(line)
        kinds = [_metadata_line(part) for part in parts]
        if None in kinds and not before_headline:
            return False
        for part, kind in zip(parts, kinds, strict=True):
            if kind == "byline" and self.byline is None:
                self.byline = parse_byline(part)
            elif kind == "date" and self.date_line is None:
                self.date_line = part
            else:
                self.chrome.append(part)
        return True
