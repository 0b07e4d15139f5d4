"""The floor: a bare python-telegram-bot echo bot, measured beside Story Brief in every run.

The same python-telegram-bot, built the way :func:`bot.chat.app.build_application` builds
the real bot (HTML parse mode and no link previews by default, no job queue, one update at
a time, ``run_polling`` with every update type), polling the same Bot API double. It
answers each text message with one fixed short HTML message and does nothing else: no
store, no digest, no templates. Whatever Story Brief costs beyond this is ours.

Run as a script (it needs only python-telegram-bot), with ``BOT_TOKEN`` and
``BOT_API_BASE_URL`` set::

    python tests/benchmarks/baseline.py

With ``BASELINE_REPLIES`` (a JSON file: each command text to the text and keyboard Story
Brief answers it with, captured from Story Brief itself) it answers each command with that
message instead: the same python-telegram-bot sending the same messages, and nothing else.
What Story Brief costs beyond that is its own code; what the messages cost is PTB's.

With ``BASELINE_CONCURRENT`` (a number) it hands that many updates at once to its handlers,
PTB's own ``concurrent_updates``: across chats and within one chat alike, so a chat's
replies may come out of order. The concurrency benchmark measures it beside Story Brief,
which runs updates of different chats at once and keeps each chat's in order.

With ``BASELINE_IMPORTS`` (module names, comma-separated) it imports those modules first and
does nothing with them: the floor for start-up time and memory of any bot built on the
same libraries as Story Brief.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, MessageHandler, filters

REPLY = "<b>Echo</b>: got it."
"""The fixed reply: short, HTML, one entity."""


Reply = tuple[str, InlineKeyboardMarkup | None]
REPLIES: dict[str, Reply] = {}
"""Command text to the message answering it (``BASELINE_REPLIES``); empty: always REPLY."""


def load_replies(path: Path) -> dict[str, Reply]:
    """The captured replies, keyboards built once (as Story Brief keeps its own)."""
    captured = json.loads(path.read_text(encoding="utf-8"))
    return {
        command: (
            reply["text"],
            InlineKeyboardMarkup.de_json(reply["reply_markup"], None)
            if reply["reply_markup"]
            else None,
        )
        for command, reply in captured.items()
    }


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to any text with :data:`REPLY`, or with its captured reply."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    text, keyboard = REPLIES.get(message.text or "", (REPLY, None))
    await context.bot.send_message(chat_id=chat.id, text=text, reply_markup=keyboard)


def main() -> None:
    """Poll until SIGTERM or SIGINT, as ``python -m bot`` does."""
    for module in filter(None, os.environ.get("BASELINE_IMPORTS", "").split(",")):
        importlib.import_module(module)
    # As the real bot logs: INFO, with httpx's request lines (they carry the token) kept out.
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if "BASELINE_REPLIES" in os.environ:
        REPLIES.update(load_replies(Path(os.environ["BASELINE_REPLIES"])))
    application = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["BOT_API_BASE_URL"])
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .job_queue(None)
        .concurrent_updates(int(os.environ.get("BASELINE_CONCURRENT", "1")))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
