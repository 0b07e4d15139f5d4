"""The command line: ``run`` (the default), ``console``, ``check [DIGEST]`` and ``draft``.

Exit codes: 0 done; 1 ``check`` found problems, or the bot stopped on an error of its
environment; 2 the settings or the digest cannot be used (the message names the variable,
or the file and line), Telegram rejected the token included. The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import InvalidToken, NetworkError

from bot.answers import AnswerEngine
from bot.cards import cards_for
from bot.chat.app import build_application
from bot.chat.commands import HELP_COMMANDS
from bot.chat.polling import run_polling
from bot.config import Settings, SettingsError, load_settings
from bot.digest import Digest, DigestError, inspect_digest, load_digest
from bot.digest.diff import diff_digests
from bot.library import AnsweredNow, UnansweredList
from bot.logs import configure_logging, route_last_resort_output
from bot.markup import problems as html_problems
from bot.markup import split_message
from bot.render import Renderer, digest_context
from bot.startup import REJECTED_BY_TELEGRAM, StartupError, first_line, prepare
from bot.store import BroadcastProgress, SubscriberCounts, Subscription, Unanswered, Version

if TYPE_CHECKING:
    from bot.chat.context import BriefApplication

# The webhook stack (bot.web: Starlette, Uvicorn) and the console are imported by the
# commands that use them, not here: a polling bot starts sooner and smaller without them.

EXIT_PROBLEMS = 1
EXIT_FAILED = 1
"""The bot stopped on an error of its environment (network, files), not of its settings."""
EXIT_UNUSABLE = 2


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    # Plain help text, not the module docstring: --help is read in a terminal, where
    # reStructuredText's ``markup`` is noise.
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Story Brief: a Telegram bot that briefs people on one news story.",
        epilog="Exit codes: 0 done; 1 check found problems; 2 the settings or the digest "
        "cannot be used.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot on Telegram (the default)")
    console = commands.add_parser(
        "console", help="the same bot in this terminal, no token, no network, no state kept"
    )
    console.add_argument(
        "--admin", action="store_true", help="be an admin for this run (/reload, /rollback, /stats)"
    )
    console.add_argument(
        "--database", metavar="URL", help="keep the state in this store (default: none kept)"
    )
    check = commands.add_parser(
        "check",
        help="validate the digest and render every template",
        description="Validate the digest and render every template with it.\n"
        "Prints one line per problem, as file:line: rule: detail, and exits 1;\n"
        'prints "ok" and exits 0 when there is none. README.md, under "Editing the\n'
        'digest", lists the rules.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "digest", nargs="?", type=Path, help="digest file (default: BOT_DIGEST_PATH)"
    )
    draft = commands.add_parser("draft", help="draft a digest for a new article")
    draft.add_argument("article", type=Path, help="the article, a plain-text file")
    draft.add_argument(
        "-o", "--output", type=Path, help="digest to write (default: digest.yaml beside it)"
    )
    draft.add_argument("--force", action="store_true", help="overwrite an existing digest")
    arguments = parser.parse_args(argv)
    if arguments.command == "draft":
        # Drafting needs no settings: it reads an article and writes a file.
        return draft_command(arguments.article, arguments.output, arguments.force)
    # python-telegram-bot 22 warns that RetryAfter.retry_after becomes a timedelta in 23;
    # opting in now keeps the logs clean and the code ready.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: bad settings\n{error}", file=sys.stderr)
        return EXIT_UNUSABLE
    if arguments.command == "check":
        return check_command(arguments.digest or settings.digest_path)
    if arguments.command == "console":
        return console_command(settings, admin=arguments.admin, database=arguments.database)
    return run_command(settings)


def draft_command(article: Path, output: Path | None, force: bool) -> int:
    """Draft a digest for ``article``: see :mod:`bot.draft.cli`."""
    from bot.draft.cli import draft_command as run_draft

    return run_draft(article, output, force)


def check_command(path: Path) -> int:
    """Validate the digest at ``path`` and render every template with it."""
    digest, problems = inspect_digest(path)
    if digest is not None:
        problems_text = template_problems(digest, Renderer())
    else:
        problems_text = [str(problem) for problem in problems]
    for line in problems_text:
        print(line)
    if problems_text:
        return EXIT_PROBLEMS
    print(f"{path}: ok ({len(digest.article.paragraphs) if digest else 0} paragraphs)")
    return 0


def template_problems(digest: Digest, renderer: Renderer) -> list[str]:
    """Render every message template with ``digest`` and a sample of every other value."""
    sample = sample_context(digest)
    found: list[str] = []
    for name in renderer.message_templates():
        try:
            text = renderer.text(name, **sample)
        except jinja2.TemplateError as error:
            found.append(f"templates/{name}:{_template_line(error, name)}: template: {error}")
            continue
        if not name.endswith(".html"):
            continue
        # Structure first, over the whole text; then each part as it would be sent.
        issues = html_problems(text, max_length=None)
        if not issues:
            issues = [issue for part in split_message(text) for issue in html_problems(part)]
        found += [f"templates/{name}:1: telegram-html: {issue}" for issue in issues]
    return found


def sample_context(digest: Digest) -> dict[str, Any]:
    """A value for every name any template uses: the digest, and plausible state around it."""
    now = datetime.now(UTC)
    version = Version(
        1, digest.fingerprint, digest.digest_text, digest.article.text, now, None, "start"
    )
    document = digest.document
    edited = document.model_copy(update={"key_points": document.key_points[1:], "summary": "…"})
    engine = AnswerEngine(digest)
    # A question this digest answers: its first figure's label, as a reader would ask it.
    question = f"{document.figures[0].label}?" if document.figures else document.title
    return digest_context(digest) | {
        "answer": engine.answer(question),
        # An inline card of each kind a query can offer; the answer card shows the most.
        "card": next(
            iter(cards_for(question, digest, engine, 1) or cards_for("", digest, engine, 1)),
            None,
        ),
        "section_text": "",
        "question": question,
        "number": 1,
        "requested": "99",
        "command": "/example",
        "commands": HELP_COMMANDS,
        "user_id": 1,
        "outcome": "subscribed",
        "group": False,
        "silent": False,
        "forwarded": False,
        "listed": UnansweredList(
            [Unanswered("what about the other countries?", 3, now)],
            [AnsweredNow(Unanswered("where did it happen?", 1, now), 1)],
        ),
        "count": 2,
        "label": "📖 Read the story",
        "url": "https://example.org/story",
        "subscription": Subscription(
            chat_id=1,
            chat_type="private",
            title=None,
            active=True,
            subscribed_at=now,
            inactive_reason=None,
        ),
        "version": version,
        "current": version,
        "diff": diff_digests(document, edited),
        "correction": False,
        "shown": 4,
        "unservable": None,
        "moved": False,
        "usage": False,
        "check": False,
        "problems": [],
        "recipients": 3,
        # The drafting replies (bot/chat/drafting.py): a report as the drafter gives one.
        "draft": {
            "headline": document.title,
            "counts": [("quotes", len(document.quotes)), ("figures", len(document.figures))],
            "unsure": ['quotes (paragraph 1): "he" taken as the last speaker'],
            "dropped": ["paragraph 2: a quote left open at the paragraph's end"],
        },
        "draft_article": digest.document.article,
        "draft_problem": "too_big",
        "draft_max_kb": 1000,
        "counts": SubscriberCounts(active=3, inactive=1),
        "broadcast": BroadcastProgress(
            broadcast_id=1,
            kind="update",
            version_id=1,
            created_at=now,
            recipients=5,
            pending=1,
            sending=0,
            sent=2,
            blocked=1,
            failed=0,
            cancelled=1,
        ),
    }


def _template_line(error: Exception, name: str) -> int:
    """The template line an error points at: Jinja2 maps its frames to template lines."""
    line = getattr(error, "lineno", None)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.endswith(name):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line or 1


def load_or_exit(settings: Settings, *, json_lines: bool = False) -> Digest | None:
    """The digest to serve, or None after reporting why it cannot be served."""
    try:
        return load_digest(settings.digest_path)
    except DigestError as error:
        report(f"the digest cannot be served\n{error}", json_lines=json_lines)
        return None


def report(message: str, *, json_lines: bool) -> None:
    """Say on stderr why the process stops: ``error: …``, or a JSON object in JSON log mode.

    In JSON mode it goes through the logging handler, so that stderr stays one JSON object
    per line. The messages are the bot's own (a setting's name, an error's first line).
    """
    if json_lines:
        logging.getLogger("bot").critical(message)
    else:
        print(f"error: {message}", file=sys.stderr)


def run_command(settings: Settings) -> int:
    """Run the bot on Telegram."""
    secrets = [
        secret.get_secret_value()
        for secret in (settings.token, settings.webhook_secret)
        if secret is not None
    ]
    json_lines = settings.log_format == "json"
    configure_logging(settings.log_level, secrets, json_lines=json_lines)
    route_last_resort_output()
    if settings.token is None:
        report(
            "BOT_TOKEN is not set: get one from @BotFather and put it in .env",
            json_lines=json_lines,
        )
        return EXIT_UNUSABLE
    digest = load_or_exit(settings, json_lines=json_lines)
    if digest is None:
        return EXIT_UNUSABLE
    try:
        with _sigterm_interrupts():
            asyncio.run(prepare(settings))
    except StartupError as error:
        report(str(error), json_lines=json_lines)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 0  # stopped while waiting for Telegram: nothing was started yet
    return _serve(settings, digest, json_lines=json_lines)


def _serve(settings: Settings, digest: Digest, *, json_lines: bool) -> int:
    """Serve Telegram until stopped, once :func:`bot.startup.prepare` has passed."""
    try:
        application = build_application(settings, digest=digest)
        if settings.mode == "webhook" or settings.webapp_url:
            return _run_web(application, settings)
        run_polling(application)
    except InvalidToken:  # revoked since prepare() asked
        report(REJECTED_BY_TELEGRAM, json_lines=json_lines)
        return EXIT_UNUSABLE
    except NetworkError as error:  # lost since prepare() reached Telegram
        report(f"Telegram cannot be reached: {error.message}", json_lines=json_lines)
        return EXIT_FAILED
    except SQLAlchemyError as error:
        report(
            f"BOT_DATABASE_URL: the state store cannot be used: {first_line(error)}",
            json_lines=json_lines,
        )
        return EXIT_UNUSABLE
    except OSError as error:
        # Not the database's: prepare() opened and migrated it, and a database lost while
        # the bot runs is waited out, not raised here. A file or a socket, said as it is.
        report(f"the bot stopped: {_os_error(error)}", json_lines=json_lines)
        return EXIT_FAILED
    return 0


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the process as Ctrl-C does, while nothing but a wait is under way.

    A container runtime stopping a bot that still waits for the network deserves exit 0,
    not death by signal; python-telegram-bot handles SIGTERM itself once it runs.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _os_error(error: OSError) -> str:
    """An OSError as one line: what went wrong and with which file, without the errno."""
    what = error.strerror or first_line(error)
    return f"{what}: {error.filename}" if error.filename else what


def _run_web(application: BriefApplication, settings: Settings) -> int:
    """Serve webhook mode, or polling with the story page, until stopped; exit code 2 if
    ``BOT_LISTEN``:``BOT_PORT`` cannot be listened on."""
    from bot.web import ListenError, serve

    try:
        asyncio.run(serve(application, settings))
    except ListenError as error:
        report(str(error), json_lines=settings.log_format == "json")
        return EXIT_UNUSABLE
    return 0


def console_command(settings: Settings, *, admin: bool = False, database: str | None = None) -> int:
    """Run the bot in this terminal."""
    from bot.console import run_console

    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING", [])
    digest = load_or_exit(settings)
    if digest is None:
        return EXIT_UNUSABLE
    try:
        return run_console(settings, digest, admin=admin, database=database)
    except (SQLAlchemyError, OSError) as error:
        # The console's only outside resource is the store it was given (--database).
        print(
            f"error: --database: the state store cannot be used: {first_line(error)}",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
