"""``python -m bot console`` as a newcomer meets it: a real process on a pseudo-terminal.

The console runs as a subprocess whose controlling terminal is a pty of the test's, sized
with TIOCSWINSZ, so that readline, Ctrl-C (the terminal's own SIGINT) and wrapping are the
real thing. Piped runs check what scripts see: plain text, and no state kept between runs.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.console import Screen, choice_keys, display_width, render
from tests import REPO_ROOT
from tests.processes import run_bot, without_bot_settings

# Starts the console on the pty given as its stdin, as a session leader whose controlling
# terminal that pty is: only then does Ctrl-C typed on it send SIGINT to the console.
SESSION_LEADER = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'bot', 'console', *sys.argv[1:]])"
)
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[=>])")
CTRL_C, CTRL_D, UP_ARROW = "\x03", "\x04", "\x1b[A"


def console_environment(tmp_path: Path) -> dict[str, str]:
    """No BOT_* settings from the outside, and a temporary directory the test can inspect."""
    env = without_bot_settings()
    env.pop("NO_COLOR", None)
    env.pop("COLUMNS", None)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(
        TERM="xterm",
        TMPDIR=str(tmp_path / "tmp"),
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


class ConsoleOnPty:
    """A console process on a pseudo-terminal of ``columns`` columns."""

    def __init__(self, cwd: Path, *arguments: str, columns: int = 60) -> None:
        self.master, follower = os.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-c", SESSION_LEADER, *arguments],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            cwd=cwd,
            env=console_environment(cwd),
        )
        os.close(follower)
        self.raw = ""

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False once the console closed the pty."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal has gone
            return False
        self.raw += chunk.decode(errors="replace")
        return bool(chunk)

    @property
    def text(self) -> str:
        """The output as a reader sees it: styles and terminal controls removed."""
        return ANSI.sub("", self.raw).replace("\r\n", "\n").replace("\r", "")

    def expect(self, pattern: str, timeout: float = 30) -> None:
        """Wait until ``pattern`` (a regular expression) appears in what was shown."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            if time.monotonic() > deadline or not self._read(0.1):
                pytest.fail(f"{pattern!r} never shown; the console showed:\n{self.text}")

    def expect_count(self, pattern: str, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.text)) < count:
            if time.monotonic() > deadline or not self._read(0.1):
                pytest.fail(f"{pattern!r} not shown {count} times:\n{self.text}")

    def wait_for_exit(self, timeout: float) -> int:
        """The exit code, read to the end of output; fails if it takes over ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"still running {timeout} s later; it showed:\n{self.text}")
            self._read(0.05)
        while self._read(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


OpenConsole = Callable[..., ConsoleOnPty]


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[OpenConsole]:
    """Start consoles on pseudo-terminals; any still running at the end are killed."""
    started: list[ConsoleOnPty] = []

    def start(*arguments: str, columns: int = 60) -> ConsoleOnPty:
        started.append(ConsoleOnPty(tmp_path, *arguments, columns=columns))
        return started[-1]

    yield start
    for console in started:
        console.close()


@pytest.fixture
def console(open_console: OpenConsole) -> ConsoleOnPty:
    return open_console()


def test_wraps_to_the_terminal_width_and_labels_choices(
    open_console: OpenConsole, tmp_path: Path
) -> None:
    console = open_console(columns=50)
    console.expect(r"\n> $")
    console.send("/start\r")
    console.expect(r"(?s)\[6\] 📄 Source.*\n> $")
    console.send("1\r")  # the first section: the summary, with a button per cited paragraph
    console.expect(r"(?s)\[8\] ¶ 8.*\n> $")
    console.send("9\r")  # no button of the summary's: the article has paragraph 9, not cited
    console.expect(r"(?s)There is no button 9 here.*\n> $")
    console.send("6\r")  # the first number no paragraph button takes: Share
    console.expect(r"(?s)In Telegram, Share asks which chat.*📰 Summary.*\n> $")
    console.send("7\r")
    console.expect(r"(?s)Paragraph 7 of 11.*\n> $")
    console.send(CTRL_D)
    assert console.wait_for_exit(10) == 0
    shown = console.text
    lines = shown.splitlines()
    assert max(display_width(line) for line in lines) <= 50
    assert sum(display_width(line) > 40 for line in lines) > 10  # filled, not merely short
    # Wrapped between words: joined again, the summary's sentence is whole.
    assert "smuggling of Chinese laborers; they also discussed aviation security" in " ".join(
        line.strip() for line in lines
    )
    # A key point's second line hangs under its text, not under its bullet.
    point = next(index for index, line in enumerate(lines) if line.startswith("• Chertoff asked"))
    assert lines[point + 1].startswith("  ") and not lines[point + 1].startswith("   ")
    # The paragraphs' buttons are pressed by the paragraph's own number.
    assert re.search(r"\[5\] ¶ 5\s+\[7\] ¶ 7\s+\[8\] ¶ 8", shown)
    assert "[6] ¶ 7" not in shown
    assert "The buttons under the last message that has them are 1, 2, 3, 4, 5, 6, 7 and 8" in (
        " ".join(line.strip() for line in lines)
    )
    # On a terminal the headline is bold.
    assert "\x1b[1mUS Homeland Security Chief" in console.raw
    assert not (tmp_path / "data").exists()


def test_ctrl_c_at_the_prompt_leaves_at_once(console: ConsoleOnPty, tmp_path: Path) -> None:
    console.expect(r"\n> $")
    console.send("/summ")  # half a line typed: Ctrl-C must not wait for the rest
    console.expect(r"> /summ$")
    started = time.monotonic()
    console.send(CTRL_C)
    code = console.wait_for_exit(5)
    assert time.monotonic() - started < 2
    assert code in {0, 130}
    assert "Traceback" not in console.text
    assert "KeyboardInterrupt" not in console.text
    assert not (tmp_path / "data").exists()
    assert list((tmp_path / "tmp").iterdir()) == []  # its temporary store is gone too


def test_ctrl_d_leaves_cleanly(console: ConsoleOnPty) -> None:
    console.expect(r"\n> $")
    console.send(CTRL_D)
    assert console.wait_for_exit(5) == 0
    assert "Traceback" not in console.text


def test_up_arrow_recalls_the_last_line(console: ConsoleOnPty) -> None:
    console.expect(r"\n> $")
    console.send("/figures\r")
    console.expect(r"thousands —")
    console.expect(r"\n> $")
    console.send(UP_ARROW)
    console.expect(r"> /figures$")  # the line is back, for editing
    console.send("\r")
    console.expect_count(r"thousands —", 2)
    console.expect(r"\n> $")
    console.send(CTRL_D)
    assert console.wait_for_exit(5) == 0
    assert "^[[A" not in console.text
    assert "does not say" not in console.text


def test_tab_completes_a_command(console: ConsoleOnPty) -> None:
    console.expect(r"\n> $")
    console.send("/summ\t")
    console.expect(r"> /summary $")
    console.send("\r")
    console.expect(r"(?s)Key points.*\n> $")
    console.send(CTRL_D)
    assert console.wait_for_exit(5) == 0


def test_an_empty_line_gets_a_hint(console: ConsoleOnPty) -> None:
    console.expect(r"\n> $")
    console.send("\r")
    console.expect(r"Type a question about the story")
    console.expect(r"\n> $")
    console.send(CTRL_D)
    assert console.wait_for_exit(5) == 0


def run_piped(tmp_path: Path, text: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    result = run_bot(
        "console", *arguments, cwd=tmp_path, stdin=text, env=console_environment(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    return result


def test_piped_output_is_plain_text(tmp_path: Path) -> None:
    result = run_piped(tmp_path, "/start\n1\n/quotes\n")
    assert "\x1b" not in result.stdout
    assert "[1] 📰 Summary" in result.stdout
    # Not wrapped: a reader of the output file wraps it.
    assert any(len(line) > 200 for line in result.stdout.splitlines())
    assert result.stderr == ""
    assert not (tmp_path / "data").exists()


def test_no_state_is_kept_between_runs_unless_a_database_is_named(tmp_path: Path) -> None:
    first = run_piped(tmp_path, "/subscribe\n")
    assert "Nothing is kept" in first.stdout
    second = run_piped(tmp_path, "/status\n")
    assert "not subscribed" in second.stdout.lower()
    assert not (tmp_path / "data").exists()
    assert list((tmp_path / "tmp").iterdir()) == []

    url = f"sqlite+aiosqlite:///{tmp_path / 'kept.sqlite3'}"
    run_piped(tmp_path, "/subscribe\n", "--database", url)
    kept = run_piped(tmp_path, "/status\n", "--database", url)
    assert "not subscribed" not in kept.stdout.lower()
    assert "--database" in kept.stdout


def test_admin_flag_makes_the_local_user_an_admin(tmp_path: Path) -> None:
    refused = run_piped(tmp_path, "/stats\n")
    assert "for the bot's admins only" in refused.stdout
    assert "python -m bot console --admin" in refused.stdout
    admitted = run_piped(tmp_path, "/stats\n", "--admin")
    assert "for the bot's admins only" not in admitted.stdout
    assert "You are an admin here" in admitted.stdout


def test_a_number_without_a_button_says_so(tmp_path: Path) -> None:
    result = run_piped(tmp_path, "3\n39000\n")
    assert "There is no button 3 here. No message has buttons yet" in result.stdout
    assert "/source 3 shows paragraph 3" in result.stdout
    assert "There is no button 39000 here" in result.stdout
    assert "/source 39000" not in result.stdout


# --- The terminal renderer, in process -----------------------------------------------------


def test_render_wraps_quotes_and_styles() -> None:
    text = (
        '<b>Bold</b> and <i>italic</i> and <a href="https://example.org">a link</a>\n'
        "<blockquote>“one two three four five six seven eight nine ten”</blockquote>after"
    )
    plain = render(text, width=22, styled=False)
    assert plain.splitlines() == [
        "Bold and italic and a",
        "link",
        "<https://example.org>",
        "│ “one two three four",
        "│ five six seven eight",
        "│ nine ten”",
        "after",
    ]
    styled = render(text, width=None, styled=True)
    assert "\x1b[1mBold\x1b[0m" in styled and "\x1b[3mitalic\x1b[0m" in styled
    assert ANSI.sub("", styled) == render(text, width=None, styled=False)


def test_render_counts_wide_characters_and_cuts_only_overlong_words() -> None:
    assert display_width("📰 Summary") == 10
    rows = render("📰📰📰📰📰📰 " + "x" * 25, width=10, styled=False).splitlines()
    assert rows == ["📰📰📰📰📰", "📰", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"]


def test_choice_keys_use_paragraph_numbers_and_never_collide() -> None:
    buttons = [
        {"callback_data": "paragraph:2"},
        {"callback_data": "section:summary"},
        {"callback_data": "paragraph:1"},
        {"callback_data": "section:quotes"},
    ]
    assert choice_keys(buttons) == [2, 3, 1, 4]


def test_a_reader_that_stops_reading_ends_it_quietly(tmp_path: Path) -> None:
    """``python -m bot console < script | head -1``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=console_environment(tmp_path),
    )
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline().startswith(b"Story Brief console")
    process.stdout.close()
    _, errors = process.communicate(b"/start\n/summary\n/quotes\n" * 20, timeout=60)
    assert process.returncode == 0
    assert errors == b""


def test_a_store_that_cannot_be_used_names_the_option(tmp_path: Path) -> None:
    unusable = "postgresql://nobody@127.0.0.1:1/x"
    result = run_bot(
        "console",
        "--database",
        unusable,
        cwd=tmp_path,
        stdin="/start\n",
        env=console_environment(tmp_path),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --database: the state store cannot be used:")
    assert "Traceback" not in result.stderr
    assert "Story Brief console" not in result.stdout  # no banner before the error


def test_a_message_at_the_prompt_redraws_the_prompt_and_the_typed_text() -> None:
    out = io.StringIO()
    screen = Screen(out, terminal=False)
    screen.prompt = "> "
    screen.line_buffer = lambda: "/sta"
    screen.show("🔔 <b>Update</b>")
    assert out.getvalue() == "\r\x1b[2K🔔 Update\n> /sta"
