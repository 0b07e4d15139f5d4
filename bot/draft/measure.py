"""How close a draft comes to a hand-made digest: quote recall and precision, speaker
accuracy, figure recall and person recall.

A drafted quote matches a hand quote when both lie in a paragraph they cite and each
covers at least 80% of the other's characters there. A digest lists the quotes its editor
chose, so the quotes to find are the digest's plus the article's other direct quotes, listed
in ``tests/data/draft/unlisted_quotes.yaml``; precision against the digest's quotes alone is
counted too. ``python -m bot.draft.measure`` prints the table the README shows, over the
seed and every ``tests/data/stories/*``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from bot.digest import Article, DigestDocument, load_digest
from bot.digest.article import normalise
from bot.digest.model import Quote
from bot.draft import draft_digest

OVERLAP = 0.8


class _Ratio:
    """A read-only attribute: one count of its object divided by another, 1.0 over zero."""

    def __init__(self, part: str, whole: str) -> None:
        self.part = part
        self.whole = whole

    def __get__(self, scores: object, owner: type | None = None) -> float:
        part, whole = int(getattr(scores, self.part)), int(getattr(scores, self.whole))
        return part / whole if whole else 1.0


@dataclass
class Scores:
    """Counts, so that stories add up before the ratios are taken."""

    hand_quotes: int = 0
    draft_quotes: int = 0
    hand_quotes_found: int = 0
    draft_quotes_right: int = 0
    draft_quotes_in_digest: int = 0
    """Drafted quotes that the digest itself lists (not only the unlisted ones)."""
    speakers_right: int = 0
    hand_figures: int = 0
    figures_found: int = 0
    hand_people: int = 0
    people_found: int = 0

    def __add__(self, other: Scores) -> Scores:
        return Scores(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    # A share of two of the counts above, 1.0 when there was nothing to count.
    quote_recall = _Ratio("hand_quotes_found", "hand_quotes")
    quote_precision = _Ratio("draft_quotes_right", "draft_quotes")
    digest_precision = _Ratio("draft_quotes_in_digest", "draft_quotes")
    speaker_accuracy = _Ratio("speakers_right", "hand_quotes_found")
    figure_recall = _Ratio("figures_found", "hand_figures")
    person_recall = _Ratio("people_found", "hand_people")


def same_person(one: str, other: str) -> bool:
    """ "Jane Roe" is "Roe"; "city council spokesman" is "Springfield city council
    spokesman": same last word, and one name's words within the other's."""
    a, b = normalise(one).casefold().split(), normalise(other).casefold().split()
    return bool(a and b) and a[-1] == b[-1] and (set(a) <= set(b) or set(b) <= set(a))


def _span(article: Article, number: int, text: str) -> tuple[int, int] | None:
    paragraph = normalise(article.paragraph(number)).casefold()
    wanted = normalise(text).casefold()
    start = paragraph.find(wanted)
    return None if start < 0 else (start, start + len(wanted))


def _overlaps(article: Article, hand: tuple[str, list[int]], draft: tuple[str, list[int]]) -> bool:
    for number in set(hand[1]) & set(draft[1]):
        if not 1 <= number <= len(article.paragraphs):
            continue
        one, other = _span(article, number, hand[0]), _span(article, number, draft[0])
        if one is None or other is None:
            continue
        shared = min(one[1], other[1]) - max(one[0], other[0])
        if shared >= OVERLAP * (one[1] - one[0]) and shared >= OVERLAP * (other[1] - other[0]):
            return True
    return False


def _digits(value: str) -> set[str]:
    return {token.replace(",", "") for token in re.findall(r"\d[\d,.]*", value)}


def _same_figure(hand: str, draft: str) -> bool:
    one, other = normalise(hand).casefold(), normalise(draft).casefold()
    if one in other or other in one:
        return True
    return bool(_digits(one)) and _digits(one) == _digits(other)


def compare(
    draft: DigestDocument,
    hand: DigestDocument,
    article: Article,
    unlisted: Sequence[Quote] = (),
) -> Scores:
    """Score ``draft`` against ``hand`` (and the ``unlisted`` quotes), all of ``article``."""
    gold = [*hand.quotes, *unlisted]
    scores = Scores(
        hand_quotes=len(gold),
        draft_quotes=len(draft.quotes),
        hand_figures=len(hand.figures),
        hand_people=sum(1 for entity in hand.people if entity.kind == "person"),
    )
    unmatched = list(draft.quotes)
    for position, quote in enumerate(gold):
        match = next(
            (
                mine
                for mine in unmatched
                if _overlaps(article, (quote.text, quote.cite), (mine.text, mine.cite))
            ),
            None,
        )
        if match is None:
            continue
        unmatched.remove(match)
        scores.hand_quotes_found += 1
        scores.draft_quotes_right += 1
        scores.draft_quotes_in_digest += position < len(hand.quotes)
        scores.speakers_right += same_person(quote.speaker, match.speaker)
    scores.figures_found = sum(
        any(
            set(figure.cite) & set(mine.cite) and _same_figure(figure.value, mine.value)
            for mine in draft.figures
        )
        for figure in hand.figures
    )
    scores.people_found = sum(
        any(same_person(entity.name, mine.name) for mine in draft.people)
        for entity in hand.people
        if entity.kind == "person"
    )
    return scores


def measure(digest_path: Path, unlisted: Sequence[Quote] = ()) -> Scores:
    """Draft the article of the hand digest at ``digest_path`` and score the draft."""
    hand = load_digest(digest_path)
    result = draft_digest(hand.article.path, hand.article.text, digest_path)
    drafted = DigestDocument.model_validate(yaml.safe_load(result.yaml))
    return compare(drafted, hand.document, hand.article, unlisted)


def stories(root: Path) -> list[Path]:
    """The hand digests to measure against: the seed's and every test story's."""
    return [root / "seeds" / "digest.yaml", *sorted(root.glob("tests/data/stories/*/digest.yaml"))]


def story_name(digest_path: Path) -> str:
    return digest_path.parent.name if "stories" in digest_path.parts else "seed"


def unlisted_quotes(path: Path) -> dict[str, list[Quote]]:
    """The direct quotes each story's digest leaves out, by story name, from ``path``."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {name: [Quote.model_validate(q) for q in quotes] for name, quotes in data.items()}


def measure_all(root: Path) -> list[tuple[str, Scores]]:
    """Scores for every story under ``root``, one row each."""
    unlisted = unlisted_quotes(root / "tests" / "data" / "draft" / "unlisted_quotes.yaml")
    return [
        (story_name(path), measure(path, unlisted.get(story_name(path), [])))
        for path in stories(root)
    ]


def table(rows: list[tuple[str, Scores]]) -> str:
    """A Markdown table, one row per story and one for all of them together."""
    lines = [
        "| story | quotes | quote recall | quote precision | (digest's quotes only) "
        "| speaker accuracy | figure recall | person recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = Scores()
    for name, scores in [*rows, ("all", sum((s for _, s in rows), total))]:
        lines.append(
            f"| {name} | {scores.hand_quotes} | {scores.quote_recall:.2f} "
            f"| {scores.quote_precision:.2f} | {scores.digest_precision:.2f} "
            f"| {scores.speaker_accuracy:.2f} "
            f"| {scores.figure_recall:.2f} | {scores.person_recall:.2f} |"
        )
    return "\n".join(lines)


def main(root: Path) -> int:
    print(table(measure_all(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path.cwd()))
