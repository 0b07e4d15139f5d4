"""The command line: ``run`` (the default), ``console``, ``check [DIGEST]`` and ``draft``.

Exit codes: 0 done; 1 ``check`` found problems; 2 the settings or the digest cannot be used
(the message names the variable, or the file and line). The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy.exc import SQLAlchemyError

from bot.answers import AnswerEngine
from bot.cards import cards_for
from bot.chat.app import build_application, run_polling
from bot.config import Settings, SettingsError, load_settings
from bot.digest import Digest, DigestError, inspect_digest, load_digest
from bot.digest.diff import diff_digests
from bot.logs import configure_logging
from bot.markup import problems as html_problems
from bot.markup import split_message
from bot.render import Renderer, digest_context
from bot.store import BroadcastProgress, SubscriberCounts, Subscription, Version

if TYPE_CHECKING:
    from bot.chat.context import BriefApplication

# The webhook stack (bot.web: Starlette, Uvicorn) and the console are imported by the
# commands that use them, not here: a polling bot starts sooner and smaller without them.

EXIT_PROBLEMS = 1
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
    commands.add_parser("console", help="the same bot in this terminal, no token, no network")
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
        return console_command(settings)
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
    return digest_context(digest) | {
        "answer": engine.answer("how many migrants?"),
        # An inline card of each kind a query can offer; the answer card shows the most.
        # A headline that finds no item still gets a section card: every digest has those.
        "card": next(
            iter(
                cards_for(digest.document.title, digest, engine, 1)
                or cards_for("", digest, engine, 1)
            ),
            None,
        ),
        "section_text": "",
        "question": "how many migrants?",
        "number": 1,
        "requested": "99",
        "command": "/example",
        "user_id": 1,
        "outcome": "subscribed",
        "group": False,
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
        "limit": 4,
        "unservable": None,
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


def load_or_exit(settings: Settings) -> Digest | None:
    """The digest to serve, or None after printing why it cannot be served."""
    try:
        return load_digest(settings.digest_path)
    except DigestError as error:
        print(f"error: the digest cannot be served\n{error}", file=sys.stderr)
        return None


def run_command(settings: Settings) -> int:
    """Run the bot on Telegram."""
    if settings.token is None:
        print(
            "error: BOT_TOKEN is not set: get one from @BotFather and put it in .env",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    problems = _webhook_problems(settings)
    if problems:
        print("error: bad settings\n" + "\n".join(problems), file=sys.stderr)
        return EXIT_UNUSABLE
    secrets = [settings.token.get_secret_value()]
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    configure_logging(settings.log_level, secrets, json_lines=settings.log_format == "json")
    digest = load_or_exit(settings)
    if digest is None:
        return EXIT_UNUSABLE
    try:
        application = build_application(settings, digest=digest)
        if settings.mode == "webhook":
            return _run_webhook(application, settings)
        run_polling(application)
    except (SQLAlchemyError, OSError) as error:
        print(
            f"error: BOT_DATABASE_URL: the state store cannot be used: {_first_line(error)}",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    return 0


def _webhook_problems(settings: Settings) -> list[str]:
    """:func:`bot.web.webhook_problems`, which has none in polling mode."""
    if settings.mode != "webhook":
        return []
    from bot.web import webhook_problems

    return webhook_problems(settings)


def _run_webhook(application: BriefApplication, settings: Settings) -> int:
    """Serve webhook mode until stopped; exit code 2 if its address cannot be listened on."""
    from bot.web import ListenError, serve_webhook

    try:
        asyncio.run(serve_webhook(application, settings))
    except ListenError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    return 0


def console_command(settings: Settings) -> int:
    """Run the bot in this terminal."""
    from bot.console import run_console

    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING", [])
    digest = load_or_exit(settings)
    if digest is None:
        return EXIT_UNUSABLE
    try:
        return asyncio.run(run_console(settings, digest))
    except (SQLAlchemyError, OSError) as error:
        print(
            f"error: BOT_DATABASE_URL: the state store cannot be used: {_first_line(error)}",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE


def _first_line(error: Exception) -> str:
    """The gist of a database error: its first line (later ones carry SQL and links)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
