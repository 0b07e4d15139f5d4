"""``python -m bot`` with a probe: on SIGUSR1 it writes its asyncio tasks and open files.

The long-day benchmark asks a running bot how many asyncio tasks it holds, which nothing
outside the process can see. The signal handler runs on the main thread, where the event
loop runs, between two bytecodes of whatever the loop was doing, and only reads: the bot
itself is the one ``python -m bot`` runs, imported and started the same way.

Run as ``python tests/benchmarks/probed_bot.py`` with ``BENCH_PROBE_PATH`` set: each probe
rewrites that file (written beside it, then renamed) with one JSON object: ``seq`` (counts
the probes), ``tasks``, ``fds`` and ``rss`` (bytes).
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import signal
from pathlib import Path
from types import FrameType

PROBE_PATH = Path(os.environ["BENCH_PROBE_PATH"])
_probes = 0


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _probe(signum: int, frame: FrameType | None) -> None:
    global _probes
    _probes += 1
    try:
        tasks = len(asyncio.all_tasks(asyncio.get_running_loop()))
    except RuntimeError:  # before the loop runs, or after it stopped
        tasks = -1
    figures = {
        "seq": _probes,
        "tasks": tasks,
        "fds": len(os.listdir("/proc/self/fd")),
        "rss": _rss(),
    }
    written = PROBE_PATH.with_suffix(".tmp")
    written.write_text(json.dumps(figures), encoding="utf-8")
    written.replace(PROBE_PATH)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _probe)
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
