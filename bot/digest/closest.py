"""What a misquote was probably meant to be: the closest passage of the article, word for word.

A quote that is not verbatim is nearly always a near miss (a word changed, dropped or
added while copying). Showing the passage it was copied from, and the words that differ,
turns "not verbatim" into a fix an editor can make at a glance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from bot.digest.article import normalise

CONTEXT_WORDS = 3
"""Words of agreeing text kept on each side of a difference when the passage is shown."""
MAX_DIFFERENCES = 3
"""Differences spelled out in one line; more are counted, not listed."""
MIN_SHARED = 0.5
"""The share of the quote's words a passage must share to count as close at all."""

REACH_PENALTY = 0.1
"""How much closer in letters a word more or fewer at a quote's end must be to be shown."""

_END_PUNCTUATION = ",.;:!?"
_QUOTE_MARKS = '"'


@dataclass(frozen=True)
class Passage:
    """The run of a paragraph's words closest to a quote, and how the two differ."""

    paragraph: int
    words: tuple[str, ...]
    """The paragraph's words from the first to the last that the quote shares."""
    at_start: bool
    at_end: bool
    differences: tuple[tuple[str, str], ...]
    """(the quote's words, the article's words) for each place they differ; either may be ""."""
    differing: tuple[int, ...]
    """Positions in ``words`` where they differ (for a word the article lacks, where it would
    stand)."""
    shared: float
    """The share of the quote's words found in the passage, in order."""


def _key(word: str) -> str:
    """A word as the search compares it: case, punctuation and quote marks do not matter."""
    return re.sub(r"\W", "", word.casefold())


def _bare(word: str) -> str:
    """A word as the difference compares it: exact, but for the double quote marks around
    it, which the article puts around speech and a digest's quote leaves out."""
    return word.strip(_QUOTE_MARKS)


def closest_passage(quote: str, paragraphs: list[tuple[int, str]]) -> Passage | None:
    """The passage of ``paragraphs`` (numbered) closest to ``quote``, or None if none is close."""
    wanted = normalise(quote).split()
    wanted_keys = [_key(word) for word in wanted]
    best: Passage | None = None
    for number, paragraph in paragraphs:
        passage = _closest_in(number, paragraph.split(), wanted, wanted_keys)
        if passage is not None and (best is None or passage.shared > best.shared):
            best = passage
    return best


def _closest_in(
    number: int, words: list[str], wanted: list[str], wanted_keys: list[str]
) -> Passage | None:
    keys = [_key(word) for word in words]
    if not keys or not wanted_keys:
        return None
    found = _locate(keys, wanted_keys)
    if found is None:
        return None
    first, last, shared = found
    quote_words = [_bare(word) for word in wanted]
    passage = _trim_ends([_bare(word) for word in words[first:last]], quote_words)
    differences: list[tuple[str, str]] = []
    differing: list[int] = []
    opcodes = SequenceMatcher(None, quote_words, passage, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag != "equal":
            differences.append((" ".join(quote_words[i1:i2]), " ".join(passage[j1:j2])))
            differing.extend(range(j1, j2) if j2 > j1 else [min(j1, len(passage) - 1)])
    return Passage(
        paragraph=number,
        words=tuple(passage),
        at_start=first == 0,
        at_end=last == len(words),
        differences=tuple(differences),
        differing=tuple(differing),
        shared=shared,
    )


def _locate(keys: list[str], wanted_keys: list[str]) -> tuple[int, int, float] | None:
    """Where in ``keys`` (first, last + 1) the quote most likely comes from, and the share of
    its words found there; None if too few are."""
    # First the window of the quote's length that shares most words with it, then that
    # window widened on both sides and cut to the words it shares: a quote with a word
    # dropped or added is then matched from its true first word to its true last.
    size = len(wanted_keys)
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted_keys)
    best_start, best_ratio = 0, -1.0
    for start in range(max(1, len(keys) - size + 1)):
        matcher.set_seq1(keys[start : start + size])
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_start, best_ratio = start, ratio
    margin = max(CONTEXT_WORDS, size // 4)
    low = max(0, best_start - margin)
    region = keys[low : best_start + size + margin]
    matcher = SequenceMatcher(None, region, wanted_keys, autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    shared = sum(block.size for block in blocks) / size
    if not blocks or shared < MIN_SHARED:
        return None
    # Quote words before the first shared word and after the last stand against article
    # words there, so that a changed first or last word shows as a change.
    head = blocks[0].b
    tail = size - (blocks[-1].b + blocks[-1].size)
    first_shared = low + blocks[0].a
    last_shared = low + blocks[-1].a + blocks[-1].size
    first = first_shared - _best_reach(
        " ".join(wanted_keys[:head]), keys[:first_shared][::-1], head, backwards=True
    )
    last = last_shared + _best_reach(" ".join(wanted_keys[size - tail :]), keys[last_shared:], tail)
    return first, last, shared


def _best_reach(unshared: str, beyond: list[str], count: int, backwards: bool = False) -> int:
    """How many article words beyond the shared ones stand for the quote's ``count``
    unshared words at that end: about as many, and the number whose letters are closest
    ("quicker" stands for "more quickly", two words, not for "more")."""
    if not count:
        return 0
    best, best_ratio = 0, -1.0
    for reach in range(max(0, count - 1), min(len(beyond), count + 2) + 1):
        taken = beyond[:reach][::-1] if backwards else beyond[:reach]
        ratio = SequenceMatcher(None, unshared, " ".join(taken), autojunk=False).ratio()
        # A word more or fewer than the quote has must earn its place by its letters.
        ratio -= REACH_PENALTY * abs(reach - count)
        if ratio > best_ratio:
            best, best_ratio = reach, ratio
    return best


def _trim_ends(article_words: list[str], quote_words: list[str]) -> list[str]:
    """The passage's words, with the punctuation that a quote cut mid-sentence rightly leaves
    out ("home," for a quote ending "home", the opening quote mark) taken off its ends."""
    trimmed = list(article_words)
    if trimmed and quote_words:
        if not quote_words[-1].endswith(tuple(_END_PUNCTUATION)):
            trimmed[-1] = trimmed[-1].rstrip(_END_PUNCTUATION) or trimmed[-1]
        if trimmed[0] != quote_words[0] and trimmed[0].endswith(quote_words[0]):
            trimmed[0] = quote_words[0]
    return trimmed


def describe(passage: Passage | None, cited: list[int]) -> str:
    """One clause for a problem line: where the closest passage is and what differs."""
    if passage is None:
        where = "paragraph" if len(cited) == 1 else "paragraphs"
        numbers = ", ".join(str(number) for number in cited)
        return f"no passage of {where} {numbers} comes close: check the text and the cite"
    not_cited = "" if passage.paragraph in cited else " (not cited)"
    shown = _excerpt(passage)
    return (
        f'closest in ¶ {passage.paragraph}{not_cited}: "{shown}" — '
        f"differs at {_list_differences(passage.differences)}"
    )


def _list_differences(differences: tuple[tuple[str, str], ...]) -> str:
    parts = []
    for quoted, written in differences[:MAX_DIFFERENCES]:
        if not written:
            parts.append(f'"{quoted}" → (nothing)')
        elif not quoted:
            parts.append(f'(nothing) → "{written}"')
        else:
            parts.append(f'"{quoted}" → "{written}"')
    more = len(differences) - MAX_DIFFERENCES
    if more > 0:
        parts.append(f"and {more} more")
    return ", ".join(parts) if parts else "quotation marks only"


def _excerpt(passage: Passage) -> str:
    """The passage with long agreeing stretches cut to a few words around each difference."""
    words = [_bare(word) for word in passage.words]
    keep = [
        not passage.differing
        or any(abs(index - position) <= CONTEXT_WORDS for position in passage.differing)
        for index in range(len(words))
    ]
    pieces: list[str] = []
    for index, word in enumerate(words):
        if keep[index]:
            pieces.append(word)
        elif not pieces or pieces[-1] != "…":
            pieces.append("…")
    if pieces[0] == "…":
        pieces[0:2] = ["…" + pieces[1]]
    elif not passage.at_start:
        pieces[0] = "…" + pieces[0]
    if pieces[-1] == "…":
        pieces[-2:] = [pieces[-2] + "…"]
    elif not passage.at_end:
        pieces[-1] += "…"
    return " ".join(pieces)


def unquoted_words(quote: str, paragraph: str) -> str | None:
    """The first words of ``quote`` that ``paragraph`` has outside its quotation marks.

    ``quote`` occurs in ``paragraph`` (both normalised) but not inside one pair of quotation
    marks: this finds the narration it runs across (``said Roe.``), or None if the
    paragraph holds none of it in quotation marks.
    """
    start = paragraph.find(quote)
    if start < 0:
        return None
    end = start + len(quote)
    inside = [False] * len(paragraph)
    for match in re.finditer(r'"([^"]+)"', paragraph):
        for position in range(*match.span(1)):
            inside[position] = True
    if not any(inside[start:end]):
        return None
    outside = re.finditer(
        r"[^\x00]+", "".join("\0" if inside[i] else paragraph[i] for i in range(start, end))
    )
    for run in outside:
        words = run.group().strip(' "').strip()
        if re.search(r"\w", words):
            return words
    return None
