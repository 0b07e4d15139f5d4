"""What the broadcast and memory benchmarks share: a digest to edit, an admin, a /reload.

The bot runs as ``python -m bot`` in a work directory holding a copy of ``seeds/`` (so the
digest can be edited as an operator would) and is pointed at a database seeded beforehand.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bot import DEFAULT_DIGEST_PATH
from tests.benchmarks.double import BenchDouble
from tests.benchmarks.procs import BotProcess, spawn
from tests.broadcast_helpers import ADMIN, EDIT, notified


def copy_seeds(workdir: Path) -> Path:
    """A writable copy of the shipped digest and its article; the digest's path."""
    seeds = workdir / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    source = DEFAULT_DIGEST_PATH.parent
    for path in source.iterdir():
        if path.suffix in (".yaml", ".txt"):
            shutil.copy(path, seeds / path.name)
    return seeds / DEFAULT_DIGEST_PATH.name


def edit(digest: Path) -> None:
    """One visible edit (a quote's context), as in the broadcast tests."""
    old, new = EDIT
    text = digest.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise RuntimeError(f"{old!r} must occur once in {digest}: update the benchmark's edit")
    digest.write_text(text.replace(old, new), encoding="utf-8")


def admin_says(api: BenchDouble, text: str, timeout: float) -> str:
    """The admin sends ``text``; the visible text of the bot's one reply."""
    before = len(api.messages(ADMIN))
    api.send_text(ADMIN, text)
    return api.wait_for_messages(ADMIN, before + 1, timeout=timeout)[before].visible_text


def reload(api: BenchDouble, digest: Path, timeout: float) -> tuple[int, float]:
    """Edit the digest and /reload it; subscribers notified, and seconds until the reply."""
    edit(digest)
    began = time.monotonic()
    reply = admin_says(api, "/reload", timeout)
    return notified(reply), time.monotonic() - began


__all__ = ["ADMIN", "admin_says", "copy_seeds", "edit", "reload"]


def spawn_with_subscribers(
    api: BenchDouble, workdir: Path, database_url: str, digest: Path, **settings: str
) -> BotProcess:
    """Story Brief on ``database_url`` (its subscribers seeded), serving ``digest``, with
    :data:`ADMIN` as its admin; ``settings`` are more BOT_* variables."""
    return spawn(
        "story-brief",
        api,
        workdir,
        BOT_DATABASE_URL=database_url,
        BOT_DIGEST_PATH=str(digest),
        BOT_ADMIN_IDS=str(ADMIN),
        **settings,
    )
