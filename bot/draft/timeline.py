"""The timeline: sentences that say when something happened, in the article's order.

``when`` is the time expression exactly as the paragraph words it ("on Tuesday", "this
week", "two years ago", "in the short term"): the digest never dates what the article
leaves relative. A date parser would turn these into calendar dates, which is precisely
what a grounded digest must not do, so plain patterns serve better here.
"""

from __future__ import annotations

import re

from bot.draft.items import Drafted
from bot.draft.people import clip
from bot.draft.text import ReadArticle

_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_UNIT = r"(?:week|month|year|decade|century|weekend|spring|summer|autumn|fall|winter|season|morning|afternoon|evening|night|quarter)"
_COUNT = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|a few|many)"
# Month and day names stay case-sensitive ("may" is a verb, "May" a month); the words
# around them, and every other pattern, are matched in any case.
_NAMED = [
    rf"\b(?i:(?:on|last|next|this|by|since|until|from|early|late|earlier|later)\s)?{_DAY}(?:\s(?:morning|afternoon|evening|night))?\b",
    rf"\b(?i:(?:on|in|by|since|until|from|before|after|early|late|mid-?)\s)?{_MONTH}(?:\s\d{{1,2}})?(?:,?\s\d{{4}})?\b",
    rf"\b(?i:on\s)?\d{{1,2}}\s{_MONTH}(?:\s\d{{4}})?\b",
    r"\b(?i:in|by|since|until|from|before|after|during|early|late|mid-?)\s(?:1[89]|20)\d\d\b",
]
_WORDED = [
    rf"\b(?:earlier|later)\sthis\s{_UNIT}\b",
    rf"\b(?:this|last|next|the previous|the following|the past|the coming)\s{_UNIT}\b",
    rf"\b{_COUNT}\s(?:{_UNIT}|second|minute|hour|day)s?\s(?:ago|earlier|later|from now)\b",
    rf"\b(?:in|within|for|over|after|during)\s(?:the\s)?(?:next|past|last|coming|previous)\s(?:{_COUNT}\s)?{_UNIT}s?\b",
    r"\bin\sthe\s(?:short|long|medium|near)\sterm\b",
    r"\b(?:during|on)\s(?:this|the|his|her|their|its)\s(?:trip|visit|tour|meeting|talks|summit|flight|journey|stay)\b",
    r"\b(?:yesterday|today|tonight|tomorrow|recently|so far|thus far|up to now|until now|to date|at the time|overnight|earlier|later)\b",
    r"\bat\s\d{1,2}(?::\d{2})?\s?(?:a\.m\.|p\.m\.|am|pm)\b",
]
_TIME = re.compile("|".join([*(f"(?:{p})" for p in _NAMED), *(f"(?i:{p})" for p in _WORDED)]))
MAX_EVENT_WORDS = 35
# "pickups move 20 minutes earlier", "an hour later than usual": a time moved, not a time
# ("two days later, the road reopened" is one).
_MOVED = re.compile(
    r"\b(?:mov(?:e|es|ed|ing)|brought|push(?:es|ed)?|shift(?:s|ed)?)\s(?:\w+\s){0,2}$"
)
_THAN = re.compile(r"\s+than\b")


def draft_timeline(read: ReadArticle) -> list[Drafted]:
    """One step per sentence that names a time, worded as that sentence words it."""
    steps: list[Drafted] = []
    for number in read.content():
        for sentence in read.sentences[number - 1]:
            text = read.plain(sentence)
            match = next((m for m in _TIME.finditer(text) if not _shifted(text, m)), None)
            if match is None:
                continue
            when = match.group()
            steps.append(
                Drafted(
                    {
                        "when": when,
                        "event": clip(text, MAX_EVENT_WORDS),
                        "cite": [number],
                    }
                )
            )
    return steps


def _shifted(text: str, match: re.Match[str]) -> bool:
    """ "earlier" or "later" that moves a time: after a verb of moving, or before "than"."""
    return match.group().casefold().endswith(("earlier", "later")) and bool(
        _MOVED.search(text, 0, match.start()) or _THAN.match(text, match.end())
    )
