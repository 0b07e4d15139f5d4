"""The two bots under measurement as real processes: ``python -m bot`` and the bare PTB bot.

Each runs in a directory of its own, its output in files there (never a pipe nobody reads),
pointed at a :class:`~tests.benchmarks.double.BenchDouble`; only ``BOT_*`` variables given
here reach it (the harness's own are removed), so a developer's ``.env`` or shell cannot
change what is measured.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.benchmarks.double import BenchDouble

Kind = Literal[
    "story-brief",
    "bare-ptb",
    "bare-ptb-same",
    "bare-ptb-stack",
    "bare-ptb-broadcast",
    "bare-ptb-concurrent",
    "story-brief-probed",
]
PTB_CONCURRENT = 256
"""``concurrent_updates`` of "bare-ptb-concurrent": as many as Story Brief's default."""
STACK_MODULES = (
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "pydantic_settings",
    "jinja2",
    "yaml",
    "prometheus_client",
)
"""The libraries Story Brief cannot start without, beyond PTB: "bare-ptb-stack" imports them."""
BASELINE_SCRIPT = Path(__file__).with_name("baseline.py")
BASELINE_BROADCAST_SCRIPT = Path(__file__).with_name("baseline_broadcast.py")
PROBED_SCRIPT = Path(__file__).with_name("probed_bot.py")
"""``python -m bot`` answering SIGUSR1 with its asyncio tasks and open files."""
# The double's token: shaped like one from @BotFather (bot.config checks that), but fake.
TOKEN = "123456:TEST-TOKEN-0123456789abcdefghijklmn"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class BotFailed(RuntimeError):
    """The process died, or did not get ready in time; the message carries its stderr."""


@dataclass
class BotProcess:
    """A bot process and what the harness knows about its start."""

    kind: Kind
    process: subprocess.Popen[bytes]
    cwd: Path
    spawned: float
    """``time.monotonic()`` just before the process was created."""
    profiler: subprocess.Popen[bytes] | None = None

    def profile(self, output: Path) -> None:
        """Sample the process with py-spy (raw collapsed stacks to ``output``) until it exits.

        Attached once the bot is ready, so start-up is not in it; ``--nonblocking`` keeps
        the sampling from pausing the bot. ``python -m tests.benchmarks.hotspots`` reads it.
        """
        command = [
            py_spy(),
            "record",
            "--pid",
            str(self.pid),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        with (self.cwd / "py-spy.log").open("ab") as log:
            self.profiler = subprocess.Popen(command, stdout=log, stderr=log)
        time.sleep(0.3)  # py-spy attaches

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        path = self.cwd / "stderr.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def status(self) -> dict[str, int]:
        """VmRSS, VmHWM (peak RSS) and VmSize of the process, in bytes."""
        return read_status(self.pid)

    def rss(self) -> int:
        return self.status()["VmRSS"]

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (all its threads)."""
        return read_cpu_seconds(self.pid)

    def wait_ready(self, api: BenchDouble, timeout: float = READY_TIMEOUT) -> float:
        """Wait for the first getUpdates; seconds from spawn to its arrival at the double."""
        deadline = time.monotonic() + timeout
        while True:
            arrived = api.first_arrival("getUpdates")
            if arrived is not None:
                return arrived - self.spawned
            if self.process.poll() is not None:
                raise BotFailed(
                    f"{self.kind} exited with {self.process.returncode}:\n{self.stderr()[-3000:]}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise BotFailed(f"{self.kind} did not poll within {timeout:.0f} s")
            time.sleep(0.002)

    def stop(self) -> int:
        """SIGTERM and wait (SIGKILL after :data:`STOP_TIMEOUT`); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.profiler is not None:
            try:  # py-spy writes its file once the process it watches has gone
                self.profiler.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
                self.profiler.wait()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def py_spy() -> str:
    """py-spy, from the PATH or beside this Python (it is not a dependency of the suite)."""
    beside = Path(sys.executable).with_name("py-spy")
    found = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if found is None:
        raise RuntimeError("--py-spy needs py-spy: pip install py-spy")
    return found


def read_cpu_seconds(pid: int) -> float:
    """utime + stime of ``/proc/<pid>/stat``, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_status(pid: int) -> dict[str, int]:
    """The memory lines of ``/proc/<pid>/status`` in bytes (VmRSS, VmHWM, VmSize)."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM", "VmSize"):
                number, unit = rest.split()
                assert unit == "kB", line
                values[name] = int(number) * 1024
    return values


COVERAGE_VARIABLES = frozenset({"COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"})
"""What starts coverage.py in a Python subprocess (its ``patch = subprocess``)."""


def spawn(kind: Kind, api: BenchDouble, cwd: Path, **settings: str) -> BotProcess:
    """Start ``kind`` in ``cwd`` against ``api``; ``settings`` are more BOT_* variables."""
    cwd.mkdir(parents=True, exist_ok=True)
    # A bot measured as it runs: not under the coverage tracer a covered test run would pass
    # on to every subprocess through these variables.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BOT_") and key not in COVERAGE_VARIABLES
    }
    env |= {
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE_URL": api.base_url,
        "PYTHONUNBUFFERED": "1",
        "PTB_TIMEDELTA": "true",
    } | settings
    if kind == "bare-ptb-stack":
        env["BASELINE_IMPORTS"] = ",".join(STACK_MODULES)
    if kind == "bare-ptb-concurrent":
        env["BASELINE_CONCURRENT"] = str(PTB_CONCURRENT)
    command = {
        "story-brief": [sys.executable, "-m", "bot"],
        "story-brief-probed": [sys.executable, str(PROBED_SCRIPT)],
        "bare-ptb": [sys.executable, str(BASELINE_SCRIPT)],
        "bare-ptb-same": [sys.executable, str(BASELINE_SCRIPT)],
        "bare-ptb-stack": [sys.executable, str(BASELINE_SCRIPT)],
        "bare-ptb-concurrent": [sys.executable, str(BASELINE_SCRIPT)],
        "bare-ptb-broadcast": [sys.executable, str(BASELINE_BROADCAST_SCRIPT)],
    }[kind]
    with (cwd / "stdout.log").open("ab") as stdout, (cwd / "stderr.log").open("ab") as stderr:
        spawned = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
    return BotProcess(kind, process, cwd, spawned)
