"""A test double of the Telegram Bot API: a real HTTP server on 127.0.0.1 that checks calls.

Spec source: telegram-bot-api-spec.json is the machine-readable Bot API 10.1 spec (format of
PaulSonOfLars/telegram-bot-api-spec), copied byte for byte from the project's shared/ directory;
its MIT licence is beside it in telegram-bot-api-spec.LICENSE.
"""

from .html import (
    HtmlProblem,
    ParsedHtml,
    parse_telegram_html,
    utf16_length,
    validate_telegram_html,
    visible_length,
    visible_text,
)
from .server import BotApiDouble, BotMessage, Call, Fault
from .spec import BotApiSpec, UploadedFile, load_spec

__all__ = [
    "BotApiDouble",
    "BotApiSpec",
    "BotMessage",
    "Call",
    "Fault",
    "HtmlProblem",
    "ParsedHtml",
    "UploadedFile",
    "load_spec",
    "parse_telegram_html",
    "utf16_length",
    "validate_telegram_html",
    "visible_length",
    "visible_text",
]
