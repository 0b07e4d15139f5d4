"""The real ``python -m bot`` as a subprocess of a test, pointed at the Bot API double."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.botapi import BotApiDouble
from tests.e2e import TEST_TOKEN


def start_bot(api: BotApiDouble, cwd: Path, **extra: str) -> subprocess.Popen[bytes]:
    """Start ``python -m bot`` in ``cwd``, its state and logs there.

    Output goes to files, never to a pipe nobody reads while the bot runs: a full pipe
    would block the bot's logging, and with it the bot.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    env |= {
        "BOT_TOKEN": TEST_TOKEN,
        "BOT_API_BASE_URL": api.base_url,
        "PYTHONUNBUFFERED": "1",
    } | extra
    with (cwd / "stdout.log").open("a") as stdout, (cwd / "stderr.log").open("a") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=cwd, env=env, stdout=stdout, stderr=stderr
        )


def stop_bot(process: subprocess.Popen[bytes], cwd: Path) -> tuple[int, str]:
    """SIGTERM, as an operator or a container runtime would; returns the exit code and log."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return process.returncode, (cwd / "stderr.log").read_text(encoding="utf-8")
