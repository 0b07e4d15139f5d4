"""Secrets never reach the logs, whatever logs them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.logs import RedactSecrets, configure_logging, redact, secret_forms

SECRET = "123456:TEST-SECRET-in-a-url"


def test_secret_is_redacted_in_message_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactSecrets([SECRET, ""]))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("POST https://api.example/bot%s/getMe", SECRET)
        try:
            raise RuntimeError(f"failed at /bot{SECRET}/sendMessage")
        except RuntimeError:
            logger.exception("request failed")
    assert SECRET not in caplog.text
    assert caplog.text.count("[secret]") == 2
    assert caplog.records[0].getMessage() == "POST https://api.example/bot[secret]/getMe"


def test_configure_logging_quietens_httpx_and_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", [SECRET])
        assert logging.getLogger("httpx").level == logging.WARNING
        logging.getLogger("bot.test").warning("token %s", SECRET)
        logging.getLogger("httpx").info("HTTP Request: POST /bot%s/getUpdates", SECRET)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "token [secret]" in err
    assert "HTTP Request" not in err
    assert SECRET not in err


def test_json_lines_carry_level_logger_message_and_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", [SECRET], json_lines=True)
        logging.getLogger("bot.test").info("hello %s", SECRET)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("bot.test").exception("failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "bot.test",
        "hello [secret]",
    )
    assert second["message"] == "failed"
    assert "ValueError: boom" in second["traceback"]


# -- the redaction itself, over any text ----------------------------------------------------

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
bot_tokens = st.builds(
    "{}:{}".format,
    st.integers(min_value=1, max_value=10**10),
    st.text(alphabet=TOKEN_ALPHABET, min_size=35, max_size=35),
)


def appearances(token: str) -> st.SearchStrategy[str]:
    """Ways the token (or its secret part) shows up in a library's output."""
    bot_id, _, secret = token.partition(":")
    return st.sampled_from(
        [
            token,
            secret,
            f"https://api.telegram.org/bot{token}/getMe",
            f"http://127.0.0.1:8081/bot{bot_id}%3A{secret}/sendMessage?chat_id=1",
            f"The token `{token}` was rejected by the server.",
            f"{secret}{secret}",
            f"{token}:{token}",
        ]
    )


@given(data=st.data(), token=bot_tokens)
def test_no_secret_part_survives_redaction(data: st.DataObject, token: str) -> None:
    pieces = data.draw(st.lists(st.one_of(st.text(), appearances(token)), min_size=1))
    text = "".join(pieces)
    redacted = redact(text, secret_forms([token, "", "webhook-Secret_1"]))
    assert token.partition(":")[2] not in redacted
    assert "webhook-Secret_1" not in redacted


@given(text=st.text(), token=bot_tokens)
def test_text_without_a_secret_is_left_alone(text: str, token: str) -> None:
    assume(token.partition(":")[2] not in text)
    assert redact(text, secret_forms([token])) == text


def test_a_whole_token_is_one_marker() -> None:
    token = "123456:" + "A" * 35
    assert redact(f"url /bot{token}/getMe", secret_forms([token])) == "url /bot[secret]/getMe"


# -- what Python prints by itself, through the real process -------------------------------

LAST_RESORT = """
import sys, threading, warnings
from bot.logs import configure_logging, route_last_resort_output
secret = sys.argv[1]
configure_logging("INFO", [secret], json_lines=sys.argv[2] == "json")
route_last_resort_output()
warnings.warn(f"a library warns with /bot{secret}/getMe", UserWarning, stacklevel=1)
worker = threading.Thread(target=lambda: 1 / 0 if secret else None, name="worker")
worker.start()
worker.join()
raise RuntimeError(f"The token `{secret}` was rejected by the server.")
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_uncaught_errors_and_warnings_go_through_the_redacting_handler(log_format: str) -> None:
    token = "123456:" + "S" * 35
    result = subprocess.run(
        [sys.executable, "-c", LAST_RESORT, token, log_format],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert token.partition(":")[2] not in result.stdout + result.stderr
    assert "The token `[secret]` was rejected" in result.stderr
    assert "a library warns with /bot[secret]/getMe" in result.stderr
    assert "ZeroDivisionError" in result.stderr
    if log_format == "json":
        entries = [json.loads(line) for line in result.stderr.splitlines()]
        assert [entry["logger"] for entry in entries] == [
            "py.warnings",  # the warning
            "bot.uncaught",  # the thread
            "bot.uncaught",  # the main thread
        ]
        assert entries[-1]["message"] == "the bot stopped on an error"
        assert entries[-1]["traceback"].endswith("was rejected by the server.")
