"""Title, source, summary and key points: the parts of a digest that frame the rest.

The summary is the lead, as an editor would start one: the first sentences of the story
(no quotations) up to the word budget. Key points are the first sentences of the paragraphs
that carry the most figures and names, since those are where a news story states its facts.
"""

from __future__ import annotations

import re
import string
from typing import Any

from bot.digest.grounding import SUMMARY_MAX_WORDS
from bot.draft.items import Drafted
from bot.draft.people import Registry
from bot.draft.text import ReadArticle

KEY_POINTS = 5
LEAD_PARAGRAPHS = 3
"""The summary comes from the story's first paragraphs: a news story leads with its gist."""


def draft_source(read: ReadArticle) -> dict[str, Any]:
    """The metadata the article states as such (as the reader found it); ``unknown`` else."""
    metadata = read.article.metadata
    dateline = metadata.dateline
    byline = metadata.byline
    return {
        "publisher": "unknown",
        "published": metadata.date_line or (dateline.date if dateline else None) or "unknown",
        # The names, as hand digests give them; /source shows the line with its title too.
        "byline": _listed(byline.names) if byline else "unknown",
        # "SPRINGFIELD, March 4 -": the place as a sentence would name it.
        "place": (string.capwords(dateline.place) if dateline.place.isupper() else dateline.place)
        if dateline
        else "unknown",
        "url": "unknown",
    }


def draft_summary(read: ReadArticle, budget: int = SUMMARY_MAX_WORDS) -> tuple[str, list[int]]:
    """The lead's sentences, without quotations, within ``budget`` words; and their cite."""
    chosen: list[str] = []
    cite: list[int] = []
    words = 0
    content = read.content()
    for number in content[:LEAD_PARAGRAPHS]:
        for sentence in read.sentences[number - 1]:
            if read.quoted(sentence):
                continue
            text = read.plain(sentence)
            count = len(text.split())
            if words + count > budget:
                if not chosen:  # a lead sentence longer than the budget: cut it
                    chosen.append(" ".join(text.split()[: budget - 1]) + " …")
                    cite.append(number)
                return " ".join(chosen), cite
            chosen.append(text)
            words += count
            if number not in cite:
                cite.append(number)
            if len(chosen) >= 3:
                return " ".join(chosen), cite
    if not chosen:  # every lead sentence is a quotation: the first one will do
        first = read.sentences[content[0] - 1][0]
        return " ".join(read.plain(first).split()[: budget - 1]), [content[0]]
    return " ".join(chosen), cite


def draft_key_points(
    read: ReadArticle, registry: Registry, figures: list[Drafted]
) -> list[Drafted]:
    """The first sentence of each of the paragraphs richest in figures and names."""
    figure_count: dict[int, int] = {}
    for figure in figures:
        for number in figure.cite:
            figure_count[number] = figure_count.get(number, 0) + 1
    name_count = {
        number: sum(
            1
            for entity in registry.entities
            if re.search(rf"(?<!\w){re.escape(entity.name)}(?!\w)", read.paragraphs[number - 1])
        )
        for number in read.content()
    }
    ranked = sorted(
        read.content(),
        key=lambda n: (-(2 * figure_count.get(n, 0) + name_count.get(n, 0)), n),
    )
    points: list[Drafted] = []
    for number in sorted(ranked[:KEY_POINTS]):
        sentence = next((s for s in read.sentences[number - 1] if not read.quoted(s)), None)
        if sentence is None:
            continue
        text = read.plain(sentence)
        points.append(Drafted({"text": text, "cite": [number]}))
    return points


def _listed(names: tuple[str, ...]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
