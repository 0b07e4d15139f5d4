"""The button under an update cut to fit one message: it lists every change."""

from __future__ import annotations

import re

from telegram import Update

from bot.chat.context import BriefContext
from bot.chat.replies import send_template
from bot.library import CHANGES_PREFIX
from bot.render import digest_context

CHANGES_PATTERN = re.compile(rf"^{CHANGES_PREFIX}(\d+):([0-9a-f]{{1,64}})$")
"""``changes:<base version id>:<fingerprint prefix>`` (see :func:`bot.library.all_changes_keyboard`)."""


async def all_changes_button(update: Update, context: BriefContext) -> None:
    """Answer the button, then send every change the update it was under announced."""
    query = update.callback_query
    if query is None:  # pragma: no cover - registered for callback queries only
        return
    await query.answer()
    found = CHANGES_PATTERN.match(query.data or "")
    services = context.bot_data
    diff = None
    if found is not None:
        diff = await services.library.all_changes(int(found.group(1)), found.group(2))
    await send_template(
        update, context, "changes.html", diff=diff, **digest_context(services.digest)
    )
