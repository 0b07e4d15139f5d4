"""Word-level differences between two texts, cut to the sentences that changed.

An update should show the news itself: the new words marked, the removed words struck, in
the sentence they belong to, and nothing of the sentences that stayed the same. difflib
compares the two texts word by word; the result is then cut into sentences of the merged
text, and only sentences that hold a change are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Op = Literal["same", "added", "removed"]

# Words and punctuation marks apart, each with the white space after it: "Toured." and
# "Toured widely." then differ by one word, not by two.
_TOKENS = re.compile(r"(?:\w[\w'\u2019-]*|[^\w\s])\s*")
_ENDS = frozenset(".!?")
_CLOSERS = frozenset("\"'\u201d\u2019)]")
# A full stop after these ends no sentence ("U.S. officials", "Dec. 4", "Mr. Li").
_ABBREVIATIONS = frozenset(
    [
        *("mr", "mrs", "ms", "dr", "st", "gov", "sen", "rep", "gen", "lt", "col"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
        *("inc", "corp", "ltd", "co", "no", "vs", "approx"),
    ]
)


@dataclass(frozen=True)
class Piece:
    """Words of the merged text, all the same, added or removed; spaces kept."""

    text: str
    op: Op


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(" ".join(text.split()))


def word_diff(old: str, new: str) -> list[Piece]:
    """The merged text of ``old`` and ``new``: unchanged, removed and added words in order."""
    before, after = _tokens(old), _tokens(new)
    matcher = SequenceMatcher(
        None, [w.strip() for w in before], [w.strip() for w in after], autojunk=False
    )
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("".join(after[j1:j2]), "same"))
            continue
        if tag in ("delete", "replace"):
            removed = "".join(before[i1:i2])
            if tag == "replace" and not removed.endswith(" "):
                removed += " "  # struck and new words side by side, not run together
            pieces.append(Piece(removed, "removed"))
        if tag in ("insert", "replace"):
            pieces.append(Piece("".join(after[j1:j2]), "added"))
    return _strip_end(pieces)


def _strip_end(pieces: list[Piece]) -> list[Piece]:
    """No trailing space after the last piece (each word carried its following space)."""
    while pieces and not pieces[-1].text.strip():
        pieces.pop()
    if pieces:
        last = pieces[-1]
        pieces[-1] = Piece(last.text.rstrip(), last.op)
    return pieces


def _ends_sentence(tokens: list[Piece], index: int) -> bool:
    """Whether the sentence ends after ``tokens[index]`` (removed tokens do not count)."""
    mark = tokens[index].text.strip()
    kept = [t.text.strip() for t in tokens[index + 1 :] if t.op != "removed"]
    if mark in _CLOSERS:
        before = [t.text.strip() for t in tokens[:index] if t.op != "removed"]
        if not before or before[-1] not in _ENDS:
            return False
    elif mark not in _ENDS or (kept and kept[0] in _CLOSERS):
        return False  # not an end, or the end is after the closing quote
    else:
        previous = [t.text.strip() for t in tokens[:index] if t.op != "removed"]
        word = previous[-1] if previous else ""
        if mark == "." and (len(word) == 1 or word.casefold() in _ABBREVIATIONS):
            return False
    return not kept or not kept[0][:1].islower()


def sentences(pieces: list[Piece]) -> list[list[Piece]]:
    """``pieces`` cut at sentence ends, each sentence a list of pieces."""
    tokens = [Piece(token, piece.op) for piece in pieces for token in _TOKENS.findall(piece.text)]
    result: list[list[Piece]] = [[]]
    for index, token in enumerate(tokens):
        result[-1].append(token)
        if token.op != "removed" and _ends_sentence(tokens, index):
            result.append([])
    return [_merge(sentence) for sentence in result if sentence]


def _merge(sentence: list[Piece]) -> list[Piece]:
    """Adjacent words of the same kind joined, so a template marks a phrase once."""
    merged: list[Piece] = []
    for word in sentence:
        if merged and merged[-1].op == word.op:
            merged[-1] = Piece(merged[-1].text + word.text, word.op)
        else:
            merged.append(word)
    return _strip_end(merged)


def changed_sentences(old: str, new: str) -> list[list[Piece]]:
    """The sentences of the merged text that hold a change, whole, in order.

    Empty when the texts have the same words (white space aside).
    """
    return [
        sentence
        for sentence in sentences(word_diff(old, new))
        if any(piece.op != "same" for piece in sentence)
    ]


def similarity(old: str, new: str) -> float:
    """How alike two texts are, word by word, from 0 to 1 (difflib's ratio)."""
    matcher = SequenceMatcher(None, old.casefold().split(), new.casefold().split(), autojunk=False)
    return matcher.ratio()
