"""The bot's commands, in one table: adding a command is one row here and its words.

The table drives the handlers registered for commands, the command menus
(``setMyCommands``: one for everyone, one for each admin), the metrics' labels and /help.
A command's words live in ``templates/labels.j2``: its menu line (``command_menu``) and,
if /help lists it, its help line (``command_help``); its reply has a template of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from telegram import BotCommand, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import metrics
from bot.chat import admin, asking, reading, subscriptions
from bot.chat.context import BriefContext
from bot.chat.reading import rendered_page
from bot.chat.replies import reply
from bot.render import Labels

Audience = Literal["public", "admin"]
"""Who may use a command: anyone, or the admins in their private chat with the bot."""
CommandCallback = Callable[[Update, BriefContext], Coroutine[Any, Any, None]]


def page(template: str) -> CommandCallback:
    """A command answered by one page: ``template`` rendered from the digest served and
    ``commands``, the names /help lists. Such a command takes a row and its template."""

    async def send_page(update: Update, context: BriefContext) -> None:
        """Send the page, rendered once per served digest."""
        parts = rendered_page(context.bot_data, template, commands=HELP_COMMANDS)
        await reply(update, context, parts)

    return send_page


@dataclass(frozen=True)
class Command:
    """One command: its name (``/name``), what answers it, and where it is listed."""

    name: str
    callback: CommandCallback
    audience: Audience = "public"
    in_menu: bool = True
    """In the command menu (the admins' menu, for an admin command)."""
    in_help: bool = False
    """Listed by /help, with its line from ``command_help`` in labels.j2."""

    def __post_init__(self) -> None:
        # What Telegram accepts as a command in a menu, checked when the table is read.
        if not re.fullmatch(r"[a-z0-9_]{1,32}", self.name):
            raise ValueError(f"/{self.name}: a command is 1 to 32 of a-z, 0-9 and _")


COMMANDS: tuple[Command, ...] = (
    Command("summary", reading.section_command, in_help=True),
    Command("quotes", reading.section_command, in_help=True),
    Command("figures", reading.section_command, in_help=True),
    Command("people", reading.section_command, in_help=True),
    Command("timeline", reading.section_command, in_help=True),
    Command("source", reading.source, in_help=True),
    Command("ask", asking.ask, in_help=True),
    Command("subscribe", subscriptions.subscribe, in_help=True),  # its help line names both
    Command("unsubscribe", subscriptions.unsubscribe),
    Command("status", subscriptions.status, in_help=True),
    Command("start", reading.start, in_help=True),
    Command("help", page("help.html")),
    Command("reload", admin.reload, audience="admin"),
    Command("rollback", admin.rollback, audience="admin"),
    Command("stats", admin.stats, audience="admin"),
    Command("unanswered", admin.unanswered, audience="admin"),
)
"""Every command, in the order of the menus and of /help."""

HELP_COMMANDS: tuple[str, ...] = tuple(command.name for command in COMMANDS if command.in_help)
"""The commands /help lists, in order (the console may list them too)."""

ADMIN_COMMANDS: tuple[str, ...] = tuple(
    command.name for command in COMMANDS if command.audience == "admin"
)
"""The admin commands: refused politely to anyone else, and in groups."""

# Every command is counted by name, from the start; anything else typed as a command is
# counted as "other", so what users type never becomes a label.
metrics.declare_commands(command.name for command in COMMANDS)

# Only new messages: an edited "/summary" should not send the summary again.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def command_handlers(admin_ids: Collection[int]) -> list[BaseHandler[Update, BriefContext, None]]:
    """A handler per command of :data:`COMMANDS` (commands that share their callback and
    audience share a handler), then the polite refusal of admin commands to anyone else."""
    # Admin commands are for admins, in their private chat with the bot: a group would see
    # the digest's problems and the state of every broadcast.
    # A forwarded "/reload" is someone's old words, not the admin asking now.
    admins = filters.User(user_id=admin_ids) & filters.ChatType.PRIVATE & ~filters.FORWARDED
    grouped: dict[tuple[CommandCallback, Audience], list[str]] = {}
    for command in COMMANDS:
        grouped.setdefault((command.callback, command.audience), []).append(command.name)
    handlers: list[BaseHandler[Update, BriefContext, None]] = [
        CommandHandler(
            names, callback, filters=NEW_MESSAGES & admins if audience == "admin" else NEW_MESSAGES
        )
        for (callback, audience), names in grouped.items()
    ]
    # Admin commands from anyone else, or in a group, land here.
    handlers.append(CommandHandler(ADMIN_COMMANDS, admin.refuse_admin_command, NEW_MESSAGES))
    return handlers


def menus(labels: Labels) -> tuple[list[BotCommand], list[BotCommand]]:
    """The command menu for everyone, and the one for admins (theirs plus the admin commands)."""

    def menu(audiences: set[Audience]) -> list[BotCommand]:
        return [
            BotCommand(command.name, labels.command_menu[command.name])
            for command in COMMANDS
            if command.in_menu and command.audience in audiences
        ]

    return menu({"public"}), menu({"public", "admin"})
