"""Admin commands: /reload, /rollback, /stats, and the refusal everyone else gets."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.chat.context import BriefContext
from bot.chat.replies import command_word, fields_of, send_template

UNANSWERED_SHOWN = 20
"""Questions /unanswered lists: a screenful, the most asked first."""


async def refuse_admin_command(update: Update, context: BriefContext) -> None:
    """Politely refuse an admin command: from someone who is not an admin, in a group, or
    forwarded (someone's earlier words, not an admin asking now)."""
    chat, message = update.effective_chat, update.effective_message
    group = chat is not None and chat.type != ChatType.PRIVATE
    forwarded = message is not None and message.forward_origin is not None
    command = command_word(message)
    await send_template(
        update, context, "admin_only.html", command=command, group=group, forwarded=forwarded
    )


async def reload(update: Update, context: BriefContext) -> None:
    """Admins: re-read the digest file and publish it (``/reload check``: only report)."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    services = context.bot_data
    argument = context.args[0].lower() if context.args else ""
    if argument not in {"", "check"}:
        await send_template(update, context, "reload.html", usage=True)
        return
    check = argument == "check"
    outcome = await services.library.reload(user.id, check=check)
    # reload.html names the outcome's fields: version, problems, diff, recipients.
    await send_template(
        update, context, "reload.html", usage=False, check=check, **fields_of(outcome)
    )


async def rollback(update: Update, context: BriefContext) -> None:
    """Admins: make the previous version current again, announced as a correction."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    outcome = await context.bot_data.library.rollback(user.id)
    # rollback.html names the outcome's fields, and calls the version restored ``version``.
    values = fields_of(outcome) | {"version": outcome.restored}
    await send_template(update, context, "rollback.html", **values)


async def stats(update: Update, context: BriefContext) -> None:
    """Admins: subscribers, the current version and the last broadcast's progress."""
    services = context.bot_data
    await send_template(
        update,
        context,
        "stats.html",
        counts=await services.store.subscriptions.subscriber_counts(),
        version=services.library.version,
        broadcast=await services.store.ledger.latest_broadcast(),
    )


async def unanswered(update: Update, context: BriefContext) -> None:
    """Admins: the questions most often answered "the article does not say", and those the
    digest answers now."""
    listed = await context.bot_data.library.unanswered(UNANSWERED_SHOWN)
    await send_template(update, context, "unanswered.html", listed=listed)
