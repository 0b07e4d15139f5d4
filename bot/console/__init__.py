"""``python -m bot console``: the real application, driven from a terminal.

The bot is built by the same composition root as on Telegram, but its HTTP layer is
:class:`ConsoleBotApi`, an in-process Bot API that shows what the bot sends instead of
sending it. Each line typed becomes a message update from a local user; a bare number
presses a button under the newest message that has buttons (a paragraph's button by that
paragraph's number, so that ``7`` always opens ¶ 7).

The terminal is read in the main thread and the bot runs on an event loop in a second one.
That way ``input()`` owns the terminal as in any interactive program: readline gives line
editing and history, and Ctrl-C raises KeyboardInterrupt in ``input()`` at once, after
readline has put the terminal back as it found it. Reading in a worker thread instead
would leave Ctrl-C waiting for that thread's line.

The console keeps no state: its store is an SQLite file in a temporary directory removed
at exit, unless ``--database`` names one; never the real bot's ``./data/``.
"""

from bot.console.api import ConsoleBotApi, ConsoleUser, choice_keys
from bot.console.layout import display_width, render
from bot.console.run import console_database, run_console
from bot.console.screen import LineReader, Screen
from bot.console.thread import BotThread

__all__ = [
    "BotThread",
    "ConsoleBotApi",
    "ConsoleUser",
    "LineReader",
    "Screen",
    "choice_keys",
    "console_database",
    "display_width",
    "render",
    "run_console",
]
