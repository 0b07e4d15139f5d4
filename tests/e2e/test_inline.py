"""Inline mode end to end: the real application answers inline queries over HTTP."""

from __future__ import annotations

import pytest

from tests.botapi import BotApiDouble

USER = 2002


async def answer_of(api: BotApiDouble, query: str) -> list[dict[str, object]]:
    query_id = api.send_inline_query(USER, query)
    await api.wait_for_async(lambda double: query_id in double.inline_answers)
    answer = api.inline_answers[query_id]
    results = answer["results"]
    assert isinstance(results, list)
    return results


@pytest.mark.usefixtures("bot")
async def test_the_figure_card_is_offered_for_its_number(api: BotApiDouble) -> None:
    results = await answer_of(api, "39,000")
    figure = next(result for result in results if "39,000" in str(result["title"]))
    content = figure["input_message_content"]
    assert isinstance(content, dict)
    assert "¶ 1, 2" in content["message_text"]
    assert "Story Brief" in content["message_text"]
    markup = figure["reply_markup"]
    assert isinstance(markup, dict)
    [[button]] = markup["inline_keyboard"]
    assert button["url"].startswith("https://t.me/")


@pytest.mark.usefixtures("bot")
async def test_an_empty_query_offers_the_sections(api: BotApiDouble) -> None:
    results = await answer_of(api, "")
    assert len(results) == 5
    assert all(str(result["id"]).startswith("v1-s-") for result in results)
