"""The real ``python -m bot`` process, polling the Bot API double over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botapi import BotApiDouble, Fault
from tests.e2e import TEST_TOKEN
from tests.processes import start_bot, stop_bot

USER = 4242


@pytest.fixture
def api() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as double:
        yield double
        assert double.violations == []


def ask(api: BotApiDouble, text: str, replies: int = 1) -> list[str]:
    before = len(api.messages(USER))
    api.send_text(USER, text)
    return [
        m.visible_text for m in api.wait_for_messages(USER, before + replies, timeout=30)[before:]
    ]


def test_a_whole_conversation_with_the_real_process(api: BotApiDouble, tmp_path: Path) -> None:
    process = start_bot(api, tmp_path, BOT_LOG_LEVEL="DEBUG")
    try:
        [welcome] = ask(api, "/start")  # queued until the process polls
        assert (
            "US Homeland Security Chief Presses China to Repatriate 39,000 Illegal Migrants"
            in welcome
        )

        menu = api.messages(USER)[-1]
        query = api.press_button(USER, menu.message_id, menu.callback_data("Summary"))
        api.wait_for(
            lambda d: query in d.answered_callbacks and len(d.messages(USER)) == 2, timeout=20
        )
        assert "Key figure: about 39,000" in api.messages(USER)[-1].visible_text

        [quotes] = ask(api, "/quotes")
        assert quotes.count("— Michael Chertoff, U.S. Homeland Security Chief") == 3
        [figures] = ask(api, "/figures")
        assert "about 39,000" in figures
        assert "thousands" in figures
        [paragraph] = ask(api, "/source 11")
        assert "Hong Kong, Singapore, and Japan" in paragraph
        [answer] = ask(api, "what is Megaports?")
        assert "The plan, called the Megaports Initiative, is meant to spot" in answer
        assert "[¶ 8]" in answer
        api.wait_for(lambda d: bool(d.commands()), timeout=20)
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert TEST_TOKEN not in stderr  # DEBUG logging, and still no token
    assert TEST_TOKEN.split(":")[1] not in stderr
    assert "Traceback" not in stderr


def test_process_keeps_serving_when_the_api_is_briefly_down(
    api: BotApiDouble, tmp_path: Path
) -> None:
    api.inject(Fault(method="getUpdates", status=502, times=2))
    process = start_bot(api, tmp_path)
    try:
        [welcome] = ask(api, "/start")
        assert welcome.startswith("👋")
        assert [c.response_status for c in api.calls_to("getUpdates")][:2] == [502, 502]
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert TEST_TOKEN not in stderr
