"""The real ``python -m bot`` process, polling the Bot API double over loopback HTTP."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.botapi import BotApiDouble, Fault
from tests.e2e import TEST_TOKEN
from tests.processes import run_bot_until_it_exits, start_bot, stop_bot

USER = 4242
SECRET_PART = TEST_TOKEN.partition(":")[2]


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


# -- start-up failures: one line each, never the token ------------------------------------


@pytest.mark.parametrize(
    ("log_format", "message_of"),
    [
        ("text", lambda line: line.removeprefix("error: ")),
        ("json", lambda line: json.loads(line)["message"]),
    ],
)
def test_a_rejected_token_is_one_line_naming_bot_token(
    api: BotApiDouble, tmp_path: Path, log_format: str, message_of: Callable[[str], str]
) -> None:
    # python-telegram-bot's InvalidToken quotes the token in its message.
    api.inject(Fault(method="getMe", status=401, times=-1))
    result = run_bot_until_it_exits(api, tmp_path, BOT_LOG_FORMAT=log_format)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert message_of(line).startswith("BOT_TOKEN: Telegram rejected the token")
    assert SECRET_PART not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()  # nothing made for a bot that cannot run


def closed_port() -> int:
    """A loopback port nothing listens on (until a test starts something there)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def wait_for_log(path: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, path.read_text(encoding="utf-8")
        time.sleep(0.05)


def test_a_bot_started_before_the_network_comes_up_by_itself(tmp_path: Path) -> None:
    port = closed_port()
    process = start_bot(f"http://127.0.0.1:{port}/bot", tmp_path)
    try:
        wait_for_log(tmp_path / "stderr.log", "still no Telegram")  # a second try failed
        assert process.poll() is None  # and the process waits on
        with BotApiDouble(token=TEST_TOKEN, port=port) as api:
            api.wait_for(lambda d: bool(d.calls_to("getUpdates")), timeout=60)
            [welcome] = ask(api, "/start")
            assert welcome.startswith("👋")
            code, stderr = stop_bot(process, tmp_path)
            assert api.violations == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, stderr
    lines = stderr.splitlines()
    reached = next(i for i, line in enumerate(lines) if "Telegram reached at" in line)
    first, *further = lines[:reached]  # nothing else while it waited: no traceback
    assert f"WARNING bot.startup: Telegram cannot be reached at 127.0.0.1:{port}: " in first
    assert further
    for line in further:
        assert f"WARNING bot.startup: still no Telegram at 127.0.0.1:{port} (" in line
        assert len(line.split(": ", 1)[1]) < 120  # a short line
    assert "Traceback" not in stderr
    assert SECRET_PART not in stderr
