"""The conversation: the console's run from start-up to the last line typed."""

from __future__ import annotations

import contextlib
import html
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import TextIO

from telegram import Update

from bot.chat.app import build_application
from bot.chat.commands import COMMANDS
from bot.config import Settings
from bot.console.api import CONSOLE_TOKEN, CONSOLE_USER_ID, LINK_CHOICE, ConsoleBotApi, ConsoleUser
from bot.console.screen import PROMPT, LineReader, Screen
from bot.console.thread import BotThread
from bot.digest import Digest
from bot.render import Renderer

QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
MENU_WORDS = {"menu", "/menu"}
MENU_COMMAND = "/start"
EXIT_INTERRUPTED = 130  # what a shell reports for a program ended by Ctrl-C (128 + SIGINT)


@contextlib.contextmanager
def console_database(url: str | None) -> Iterator[str]:
    """``url`` if given; else a new SQLite file, removed with its directory at exit."""
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(
        prefix="story-brief-console-", ignore_cleanup_errors=True
    ) as directory:
        yield f"sqlite+aiosqlite:///{os.path.join(directory, 'console.sqlite3')}"


def run_console(
    settings: Settings,
    digest: Digest,
    *,
    admin: bool = False,
    database: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Talk to the bot from ``stdin`` until end of input, /quit or Ctrl-C; the exit code.

    ``admin`` adds the console's user to the admins for this run; ``database`` is a store
    to use instead of a temporary one.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    with console_database(database) as url:
        admin_ids = settings.admin_ids | {CONSOLE_USER_ID} if admin else settings.admin_ids
        settings = settings.model_copy(update={"database_url": url, "admin_ids": admin_ids})
        renderer = Renderer()
        screen = Screen(stdout, terminal=stdout.isatty())
        api = ConsoleBotApi(screen, renderer)
        application = build_application(
            settings, token=CONSOLE_TOKEN, digest=digest, renderer=renderer, request=api
        )
        bot = BotThread(application)
        words = sorted({f"/{command.name}" for command in COMMANDS} | MENU_WORDS | QUIT_WORDS)
        reader = LineReader(stdin, stdout, screen, words)
        try:
            bot.start()
            # After the store opened: a bad --database shows its error, not a banner first.
            banner = renderer.text(
                "console_banner.txt",
                user_id=CONSOLE_USER_ID,
                admin=CONSOLE_USER_ID in admin_ids,  # by --admin, or by BOT_ADMIN_IDS
                kept=database is not None,
            )
            screen.show(html.escape(banner, quote=False) + "\n")
            return _converse(bot, api, reader, screen, renderer, digest)
        except KeyboardInterrupt:
            bot.interrupted.set()
            # Ctrl-C: leave at once, on a line of our own, without a traceback.
            screen.write("")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # Whoever read the output has gone (`| head`): leave as quietly as `cat` would.
            # Python flushes stdout at exit once more; it goes to /dev/null, not to an error.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
            return 0
        finally:
            bot.stop()


def _converse(
    bot: BotThread,
    api: ConsoleBotApi,
    reader: LineReader,
    screen: Screen,
    renderer: Renderer,
    digest: Digest,
) -> int:
    user = ConsoleUser()
    application = bot.application
    while True:
        line = reader.read()
        if line is None:  # Ctrl-D, or the end of piped input
            if reader.interactive:
                screen.write("")
            return 0
        text = line.strip()
        if not text:
            # Piped input may use blank lines to group its lines; a person gets a hint.
            if reader.interactive:
                screen.note(renderer.text("console_empty_line.txt"))
            continue
        if text.lower() in QUIT_WORDS:
            return 0
        if not reader.interactive:
            screen.write(f"{PROMPT}{text}")
        if text.lower() in MENU_WORDS:
            text = MENU_COMMAND
        if text.isdecimal():
            choice = api.choices.get(int(text))
            if choice is None:
                number = int(text)
                paragraphs = len(digest.article.paragraphs)
                screen.note(
                    renderer.text(
                        "console_no_choice.txt",
                        requested=text,
                        choices=sorted(api.choices),
                        paragraph=number if 1 <= number <= paragraphs else None,
                    )
                )
                screen.write("")
                continue
            if choice.data.startswith(LINK_CHOICE):
                address = choice.data.removeprefix(LINK_CHOICE)
                screen.note(renderer.text("console_link.txt", label=choice.label, url=address))
                screen.write("")
                continue
            payload = user.press(choice)
        else:
            payload = user.message(text)
        bot.run(application.process_update(Update.de_json(payload, application.bot)))
