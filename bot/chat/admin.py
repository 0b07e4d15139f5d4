"""Admin commands: /reload, /rollback, /stats, and the refusal everyone else gets."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.chat.context import BriefContext
from bot.chat.replies import command_word, reply


async def refuse_admin_command(update: Update, context: BriefContext) -> None:
    """Politely refuse an admin command: from someone who is not an admin, or in a group."""
    chat = update.effective_chat
    parts = context.bot_data.renderer.messages(
        "admin_only.html",
        command=command_word(update.effective_message),
        group=chat is not None and chat.type != ChatType.PRIVATE,
    )
    await reply(update, context, parts)


async def reload(update: Update, context: BriefContext) -> None:
    """Admins: re-read the digest file and publish it (``/reload check``: only report)."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    services = context.bot_data
    argument = context.args[0].lower() if context.args else ""
    if argument not in {"", "check"}:
        await reply(update, context, services.renderer.messages("reload.html", usage=True))
        return
    check = argument == "check"
    outcome = await services.library.reload(user.id, check=check)
    parts = services.renderer.messages(
        "reload.html",
        usage=False,
        check=check,
        problems=outcome.problems,
        diff=outcome.diff,
        version=outcome.version,
        recipients=outcome.recipients,
    )
    await reply(update, context, parts)


async def rollback(update: Update, context: BriefContext) -> None:
    """Admins: make the previous version current again, announced as a correction."""
    user = update.effective_user
    if user is None:  # pragma: no cover - the admin filter needs a user
        return
    services = context.bot_data
    outcome = await services.library.rollback(user.id)
    parts = services.renderer.messages(
        "rollback.html",
        version=outcome.restored,
        current=outcome.current,
        unservable=outcome.unservable,
        diff=outcome.diff,
        recipients=outcome.recipients,
    )
    await reply(update, context, parts)


async def stats(update: Update, context: BriefContext) -> None:
    """Admins: subscribers, the current version and the last broadcast's progress."""
    services = context.bot_data
    parts = services.renderer.messages(
        "stats.html",
        counts=await services.store.subscriber_counts(),
        version=services.library.version,
        broadcast=await services.store.latest_broadcast(),
    )
    await reply(update, context, parts)
