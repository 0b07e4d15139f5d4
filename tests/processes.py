"""The real ``python -m bot`` as a subprocess of a test, pointed at the Bot API double."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.botapi import BotApiDouble
from tests.e2e import TEST_TOKEN


def without_bot_settings() -> dict[str, str]:
    """This process's environment without its ``BOT_`` settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}


def bot_environment(api: BotApiDouble | str, **extra: str) -> dict[str, str]:
    """This process's environment without its ``BOT_`` settings, pointed at ``api``.

    ``api`` is the double, or a base URL where nothing (or the double, later) listens.
    """
    return (
        without_bot_settings()
        | {
            "BOT_TOKEN": TEST_TOKEN,
            "BOT_API_BASE_URL": api if isinstance(api, str) else api.base_url,
            "PYTHONUNBUFFERED": "1",
        }
        | extra
    )


def start_bot(api: BotApiDouble | str, cwd: Path, **extra: str) -> subprocess.Popen[bytes]:
    """Start ``python -m bot`` in ``cwd``, its state and logs there.

    Output goes to files, never to a pipe nobody reads while the bot runs: a full pipe
    would block the bot's logging, and with it the bot.
    """
    env = bot_environment(api, **extra)
    with (cwd / "stdout.log").open("a") as stdout, (cwd / "stderr.log").open("a") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=cwd, env=env, stdout=stdout, stderr=stderr
        )


def run_bot_until_it_exits(
    api: BotApiDouble | str, cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot`` in ``cwd`` for a start that should fail; its exit and output."""
    return run_bot(cwd=cwd, env=bot_environment(api, **extra))


def terminate(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as an operator or a container runtime would (SIGKILL if it has not exited
    within 30 s); returns the exit code."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return process.returncode


def stop_bot(process: subprocess.Popen[bytes], cwd: Path) -> tuple[int, str]:
    """:func:`terminate` a bot started in ``cwd``; returns the exit code and log."""
    return terminate(process), (cwd / "stderr.log").read_text(encoding="utf-8")


def run_bot(
    *arguments: str,
    cwd: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    **environment: str,
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGUMENTS`` in ``cwd`` to its end, ``stdin`` its input; its environment
    ``env`` (by default this process's without its ``BOT_`` settings) and ``environment``."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        input=stdin,
        cwd=cwd,
        env=(without_bot_settings() if env is None else env) | environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
