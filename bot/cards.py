"""Cards for inline mode: what ``@bot words`` offers to share into any chat (Telegram-free).

Each card is one cited item of the brief: the answer to the words read as a question, the
quotes and figures they match, and the sections. Every card's message carries its citation
and its attribution, so a fact shared out of the bot still says where it comes from. Ids
carry the served version, so after a /reload Telegram's cache of the old cards runs out
instead of serving them under new ids.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from bot.answers import Answer, AnswerEngine, terms
from bot.digest import Digest
from bot.digest.model import DigestDocument, Figure, Quote
from bot.markup import split_message
from bot.render import Renderer, digest_context

MAX_CARDS = 10
"""Telegram shows at most 50 results; ten keeps the list readable on a phone."""
CardKind = Literal["answer", "quote", "figure", "section"]
CARD_SECTIONS = ("summary", "quotes", "figures", "people", "timeline")
"""Sections offered as cards (``source`` is a list of paragraph buttons, not shareable)."""


@dataclass(frozen=True)
class Card:
    """One inline result: its kind, the item it shows, and where that item comes from."""

    id: str
    kind: CardKind
    cite: tuple[int, ...]
    question: str | None = None
    answer: Answer | None = None
    quote: Quote | None = None
    figure: Figure | None = None
    section: str | None = None
    deep_link: str = field(default="")
    """The ``/start`` parameter that opens this card's section in the bot."""


_DIGITS = re.compile(r"(?<=\d)[,\s](?=\d{3}\b)")


def _number_words(text: str) -> str:
    """``12,500`` and ``12500`` alike: digit groups joined, case folded."""
    return _DIGITS.sub("", text).casefold()


def _matches(query_terms: set[str], raw_query: str, text: str) -> bool:
    if raw_query and _number_words(raw_query) in _number_words(text):
        return True
    return bool(query_terms) and query_terms <= set(terms(text))


def cards_for(query: str, digest: Digest, engine: AnswerEngine, version: int) -> list[Card]:
    """The cards for an inline query, best first: answer, quotes, figures, then sections."""
    query = " ".join(query.split())
    prefix = f"v{version}"
    if not query:
        return list(_section_cards(CARD_SECTIONS, prefix))
    query_terms = set(terms(query))
    cards = [
        card
        for text, card in _item_cards(digest.document, prefix)
        if _matches(query_terms, query, text)
    ]
    answer = engine.answer(query)
    if answer.kind in ("sentences", "figure", "quote") and answer.paragraph is not None:
        cite = tuple(
            sorted({passage.paragraph for passage in answer.sentences} or {answer.paragraph})
        )
        duplicate = any(
            (card.figure is not None and card.figure == answer.figure)
            or (card.quote is not None and card.quote == answer.quote)
            for card in cards
        )
        if not duplicate or answer.sentences:
            cards.insert(
                0,
                Card(
                    f"{prefix}-a{_short_hash(query)}",
                    "answer",
                    cite,
                    question=query,
                    answer=answer,
                    deep_link="summary",
                ),
            )
    named = [section for section in CARD_SECTIONS if section.startswith(query.casefold())]
    cards.extend(_section_cards(named, prefix))
    return cards[:MAX_CARDS]


def _item_cards(document: DigestDocument, prefix: str) -> Iterator[tuple[str, Card]]:
    """Each figure's and quote's card, after the words a query is matched against."""
    for index, figure in enumerate(document.figures):
        yield (
            f"{figure.value} {figure.label}",
            Card(
                f"{prefix}-f{index}",
                "figure",
                tuple(figure.cite),
                figure=figure,
                deep_link="figures",
            ),
        )
    for index, quote in enumerate(document.quotes):
        yield (
            f"{quote.speaker} {quote.text}",
            Card(f"{prefix}-q{index}", "quote", tuple(quote.cite), quote=quote, deep_link="quotes"),
        )


def _short_hash(text: str) -> str:
    """A stable id part for ``text`` (Python's own hash changes with every process)."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _section_cards(sections: Iterable[str], prefix: str) -> Iterable[Card]:
    for section in sections:
        yield Card(f"{prefix}-s-{section}", "section", (), section=section, deep_link=section)


SECTION_CARD_LIMIT = 3800
"""Visible characters of a section in a card: Telegram's 4096 less room for the attribution."""


def card_message(card: Card, digest: Digest, renderer: Renderer) -> str:
    """The HTML message a card sends: its item, its citation and the attribution line."""
    context = digest_context(digest)
    section_text = Markup("")
    if card.section is not None:
        # The section's first part: a card is one message, and the section may be longer.
        first = split_message(renderer.text(f"{card.section}.html", **context), SECTION_CARD_LIMIT)
        section_text = Markup(first[0])  # noqa: S704 - our own template's escaped output
    return renderer.text("inline_card.html", card=card, section_text=section_text, **context)


def card_titles(card: Card, digest: Digest, renderer: Renderer) -> tuple[str, str]:
    """The result's title and description in Telegram's list of results (plain text)."""
    macros = renderer.environment.get_template("_inline.html").module
    title = str(getattr(macros, "title")(card, renderer.labels))  # noqa: B009 - a macro
    description = str(getattr(macros, "description")(card, digest.document))  # noqa: B009
    return html.unescape(title).strip(), html.unescape(description).strip()
