"""Secrets never reach the logs, whatever logs them."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import RedactSecrets, configure_logging

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
