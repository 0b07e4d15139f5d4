"""The floor: a bare python-telegram-bot echo bot, measured beside Story Brief in every run.

The same python-telegram-bot, built the way :func:`bot.chat.app.build_application` builds
the real bot (HTML parse mode and no link previews by default, no job queue, one update at
a time, ``run_polling`` with every update type), polling the same Bot API double. It
answers each text message with one fixed short HTML message and does nothing else: no
store, no digest, no templates. Whatever Story Brief costs beyond this is ours.

Run as a script (it needs only python-telegram-bot), with ``BOT_TOKEN`` and
``BOT_API_BASE_URL`` set::

    python tests/benchmarks/baseline.py
"""

from __future__ import annotations

import logging
import os

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, MessageHandler, filters

REPLY = "<b>Echo</b>: got it."
"""The fixed reply: short, HTML, one entity."""


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to any text with :data:`REPLY`."""
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat_id=chat.id, text=REPLY)


def main() -> None:
    """Poll until SIGTERM or SIGINT, as ``python -m bot`` does."""
    # As the real bot logs: INFO, with httpx's request lines (they carry the token) kept out.
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
