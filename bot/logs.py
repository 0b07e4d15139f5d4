"""Logging set-up that keeps secrets out of every output of the process.

Everything the process writes on its own goes through the logging handler set up here:
log records (ours and every library's), and, once :func:`route_last_resort_output` ran,
uncaught exceptions (main thread and others), exceptions Python can only ignore, and
warnings. The handler's filter redacts every secret, so a library's exception message that
quotes the token (python-telegram-bot's ``InvalidToken`` does) is redacted as well; in JSON
mode every one of them is one JSON object on one line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType

REDACTED = "[secret]"
# A bot token: the bot's id (public: it is the bot's user id), a colon, the secret part.
_BOT_TOKEN = re.compile(r"[0-9]+:(?P<secret>[A-Za-z0-9_-]{8,})")

last_resort_logger = logging.getLogger("bot.uncaught")


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every text to redact for ``secrets``, longest first.

    A bot token's secret part on its own too: it is what grants access, and it shows up
    without the bot's id, or with the colon percent-encoded, in URLs.
    """
    forms = set()
    for secret in secrets:
        if not secret:
            continue
        forms.add(secret)
        token = _BOT_TOKEN.fullmatch(secret)
        if token is not None:
            forms.add(token["secret"])
    # Longest first, so a whole token becomes one marker rather than "id:[secret]".
    return sorted(forms, key=len, reverse=True)


def redact(text: str, forms: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``forms`` (from :func:`secret_forms`) replaced.

    The marker's brackets occur in no token or webhook secret, so a replacement can never
    complete a new occurrence.
    """
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    """Replace every occurrence of a secret in a log record's final text."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secret_forms(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: time, level, logger, message, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, secrets: list[str], *, json_lines: bool = False) -> None:
    """Log to stderr at ``level``, secrets redacted, httpx's request lines kept out."""
    handler = logging.StreamHandler()
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if json_lines else text)
    handler.addFilter(RedactSecrets(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # aiosqlite logs every cursor operation at DEBUG: noise that drowns the bot's own lines.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def route_last_resort_output() -> None:
    """Send what Python would print to stderr itself through the logging handler.

    Without this an uncaught exception's traceback, an exception in a thread, an "Exception
    ignored in …" and a warning go to stderr as plain text that no filter sees: the token
    in a library's exception message would be printed, and JSON mode would get lines that
    are not JSON. For the process, not for tests: it replaces global hooks.
    """
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
    sys.unraisablehook = _unraisable
    logging.captureWarnings(True)  # warnings become records of the "py.warnings" logger


def _uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        return  # Ctrl-C: the operator knows why the process stops
    last_resort_logger.critical("the bot stopped on an error", exc_info=(kind, error, traceback))


def _uncaught_in_thread(arguments: threading.ExceptHookArgs) -> None:
    if arguments.exc_type is SystemExit or arguments.exc_value is None:
        return  # as Python's own hook: a thread that exits says nothing
    name = arguments.thread.name if arguments.thread is not None else "a thread"
    last_resort_logger.error(
        "%s stopped on an error",
        name,
        exc_info=(arguments.exc_type, arguments.exc_value, arguments.exc_traceback),
    )


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    error = unraisable.exc_value
    exc_info = (unraisable.exc_type, error, unraisable.exc_traceback) if error else None
    last_resort_logger.error(
        "%s: %r", unraisable.err_msg or "Exception ignored in", unraisable.object, exc_info=exc_info
    )
