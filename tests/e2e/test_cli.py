"""The command line, run as a real subprocess: ``check``, exit codes, and secrets kept."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import TEMPLATES_DIR, cli
from bot.chat.context import BriefApplication
from bot.cli import template_problems
from bot.digest import Digest
from bot.render import Renderer
from tests.botapi import BotApiDouble
from tests.conftest import EditDigest
from tests.e2e import TEST_TOKEN, settings_for
from tests.processes import run_bot

FAKE_TOKEN = "123456:TEST-TOKEN-never-printed-0000000000"  # a real one's shape


def test_check_passes_on_the_shipped_digest(tmp_path: Path) -> None:
    result = run_bot("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("digest.yaml: ok (11 paragraphs)")


def test_check_reports_one_line_per_problem(edit_digest: EditDigest, tmp_path: Path) -> None:
    edit_digest("  publisher: unknown", "  publisher: Reuters")
    path, line = edit_digest("  - value: thousands\n", "  - value: millions\n")
    result = run_bot("check", str(path), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert (
        lines[1]
        == f"{path.name}:{line}: figure-not-in-paragraph: 'millions' does not occur in paragraph 4"
    )


def test_bad_digest_at_start_exits_2_naming_file_and_line(
    edit_digest: EditDigest, tmp_path: Path
) -> None:
    path, line = edit_digest(
        "    description: Not named in the article; said Beijing will work with the United States.\n    cite: [6]\n",
        "    description: Not named in the article; said Beijing will work with the United States.\n    cite: [80]\n",
    )
    line += 1  # the cite line
    for command in ("run", "console"):
        result = run_bot(command, cwd=tmp_path, BOT_TOKEN=FAKE_TOKEN, BOT_DIGEST_PATH=str(path))
        assert result.returncode == 2
        assert f"{path.name}:{line}: paragraph-out-of-range" in result.stderr
        assert FAKE_TOKEN not in result.stdout + result.stderr


def test_bad_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_bot("run", cwd=tmp_path, BOT_BROADCAST_RATE="-3")
    assert result.returncode == 2
    assert "BOT_BROADCAST_RATE: Input should be greater than 0" in result.stderr


def test_run_without_token_exits_2(tmp_path: Path) -> None:
    result = run_bot(cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr


@pytest.mark.parametrize("secret", ["secret-but-malformed", "12345:short"])
def test_malformed_token_is_never_printed(tmp_path: Path, secret: str) -> None:
    result = run_bot("run", cwd=tmp_path, BOT_TOKEN=secret)
    assert result.returncode == 2
    assert "BOT_TOKEN: does not look like a bot token" in result.stderr
    assert secret.rpartition(":")[2] not in result.stdout + result.stderr


def test_an_empty_token_stops_only_run(tmp_path: Path) -> None:
    # As in .env.example, copied as the README says: `BOT_TOKEN=` is "not set".
    (tmp_path / ".env").write_text("BOT_TOKEN=\n", encoding="utf-8")
    check = run_bot("check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    console = run_bot("console", cwd=tmp_path, stdin="/help\n", BOT_TOKEN="")
    assert console.returncode == 0, console.stderr
    assert "/summary" in console.stdout
    run = run_bot("run", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1].startswith("error: BOT_TOKEN is not set")


def test_console_holds_a_conversation_from_piped_input(tmp_path: Path) -> None:
    result = run_bot("console", cwd=tmp_path, stdin="/start\n1\n/quotes\n/figures\n/source 3\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] 📰 Summary" in out
    assert "Key figure: about 39,000" in out  # button 1 pressed
    assert "— Michael Chertoff, U.S. Homeland Security Chief [¶ 10]" in out
    assert "thousands — illegal Chinese migrants" in out
    assert "Paragraph 3 of 11" in out
    assert result.stderr == ""


def test_template_problems_locate_the_template_line(tmp_path: Path, digest: Digest) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    (templates / "figures.html").write_text(
        "<b>Figures</b>\n{{ brief.nonsense }}\n", encoding="utf-8"
    )
    (templates / "help.html").write_text("<p>not Telegram</p>\n", encoding="utf-8")
    found = template_problems(digest, Renderer(templates))
    assert found[0].startswith("templates/figures.html:2: template: ")
    assert found[1] == "templates/help.html:1: telegram-html: tag <p> is not one Telegram accepts"
    assert len(found) == 2


@pytest.mark.parametrize("name", ["figures.html", "quotes.html"])
def test_shipped_templates_render_cleanly(digest: Digest, name: str) -> None:
    assert all(name not in problem for problem in template_problems(digest, Renderer()))


# -- errors while the bot runs, in this process ------------------------------------------


@pytest.fixture
def process_globals() -> Iterator[None]:
    """run_command sets up the process's logging and last-resort hooks: undo it afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook, sys.unraisablehook
    try:
        yield
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        sys.excepthook, threading.excepthook, sys.unraisablehook = hooks
        logging.captureWarnings(False)


@pytest.mark.usefixtures("process_globals")
def test_an_os_error_not_of_the_database_is_reported_as_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Say the process may not open a file it needs while it runs: that is not the store.
    def run_polling(application: BriefApplication) -> None:
        raise PermissionError(13, "Permission denied", "/srv/story-brief/export")

    monkeypatch.setattr(cli, "run_polling", run_polling)
    with BotApiDouble(token=TEST_TOKEN) as api:
        code = cli.run_command(settings_for(api, tmp_path / "state.sqlite3"))
    assert code == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == "error: the bot stopped: Permission denied: /srv/story-brief/export"


def test_an_unusable_store_names_bot_database_url(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the database's directory should be\n")
    with BotApiDouble(token=TEST_TOKEN) as api:
        result = run_bot(
            "run",
            cwd=tmp_path,
            BOT_TOKEN=TEST_TOKEN,
            BOT_API_BASE_URL=api.base_url,
            BOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'taken' / 'state.sqlite3'}",
        )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: BOT_DATABASE_URL: the state store cannot be used: ")
