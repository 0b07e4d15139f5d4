"""Inline mode's cards: cited items of the brief, keyed to the version served."""

from __future__ import annotations

import re

import pytest

from bot.answers import AnswerEngine
from bot.cards import MAX_CARDS, card_message, card_titles, cards_for
from bot.digest import Digest
from bot.markup import problems
from bot.render import Renderer


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_an_empty_query_offers_the_sections(digest: Digest) -> None:
    cards = cards_for("", digest, AnswerEngine(digest), version=7)
    assert [card.section for card in cards] == [
        "summary",
        "quotes",
        "figures",
        "people",
        "timeline",
    ]
    assert all(card.id.startswith("v7-") for card in cards)


@pytest.mark.parametrize("query", ["39,000", "39000"])
def test_a_figure_is_found_by_its_number(digest: Digest, renderer: Renderer, query: str) -> None:
    cards = cards_for(query, digest, AnswerEngine(digest), version=1)
    figures = [card for card in cards if card.kind == "figure"]
    assert figures and figures[0].figure is not None
    assert "39,000" in figures[0].figure.value
    message = card_message(figures[0], digest, renderer)
    # The card carries its citation and attribution.
    assert "Story Brief" in message
    assert re.search(r"¶ 1, 2", message)


def test_quotes_match_their_words_and_carry_the_speaker(digest: Digest, renderer: Renderer) -> None:
    cards = cards_for("green lane ports", digest, AnswerEngine(digest), version=1)
    quotes = [card for card in cards if card.kind == "quote"]
    assert quotes and quotes[0].quote is not None
    message = card_message(quotes[0], digest, renderer)
    assert quotes[0].quote.speaker in message
    title, description = card_titles(quotes[0], digest, renderer)
    assert quotes[0].quote.speaker in title
    assert description.startswith("“")


def test_a_question_gets_an_answer_card_first(digest: Digest, renderer: Renderer) -> None:
    cards = cards_for("why does China refuse?", digest, AnswerEngine(digest), version=1)
    assert cards[0].kind == "answer"
    assert cards[0].cite
    assert "¶" in card_message(cards[0], digest, renderer)


def test_every_card_is_valid_telegram_html_with_unique_ids(
    digest: Digest, renderer: Renderer
) -> None:
    engine = AnswerEngine(digest)
    for query in ["", "39,000", "Chertoff", "Megaports", "what did the spokesman say", "zzz"]:
        cards = cards_for(query, digest, engine, version=3)
        assert len(cards) <= MAX_CARDS
        ids = [card.id for card in cards]
        assert len(set(ids)) == len(ids)
        assert all(len(card_id.encode()) <= 64 for card_id in ids)
        for card in cards:
            assert problems(card_message(card, digest, renderer)) == [], (query, card.kind)
            title, _ = card_titles(card, digest, renderer)
            assert title


def test_a_new_version_gives_new_ids(digest: Digest) -> None:
    engine = AnswerEngine(digest)
    first = {card.id for card in cards_for("39,000", digest, engine, version=1)}
    second = {card.id for card in cards_for("39,000", digest, engine, version=2)}
    assert first and not first & second
