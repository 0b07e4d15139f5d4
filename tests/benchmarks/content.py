"""Content: the digest's load and validation, /reload, and the render of every template.

In this process, no Telegram: medians of repeated runs (``timeit`` for the synchronous
parts). /reload is :meth:`bot.library.DigestLibrary.reload` on a real store with
:data:`RELOAD_SUBSCRIBERS` subscribers, the digest file alternating between two versions so
that every reload publishes; the store's ``publish`` (one transaction that writes the
version and a delivery row per subscriber) is timed on its own, and the rest of the reload
is its validate + diff + swap (the swap builds the answer engine for the new digest).
"""

from __future__ import annotations

import asyncio
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.answers import AnswerEngine
from bot.cli import sample_context
from bot.digest import inspect_digest, load_digest
from bot.library import DigestLibrary, changes_between
from bot.render import Renderer
from bot.store import Publication, Versions
from tests.benchmarks.databases import Database
from tests.benchmarks.figures import ContentTimes, ReloadTimes
from tests.benchmarks.scenario import ADMIN, copy_seeds, edit
from tests.benchmarks.stats import median
from tests.postgres import open_store

RELOAD_SUBSCRIBERS = 1_000


def per_call(action: Callable[[], object], repeats: int, number: int = 1) -> float:
    """Median seconds of one call of ``action`` over ``repeats`` runs of ``number`` calls."""
    return median([t / number for t in timeit.repeat(action, number=number, repeat=repeats)])


def _rendering(renderer: Renderer, name: str, context: dict[str, Any]) -> Callable[[], object]:
    return lambda: renderer.messages(name, **context)


class _TimedVersions(Versions):
    """The store's versions, timing each publish."""

    publish_seconds: list[float]

    async def publish(self, **arguments: Any) -> Publication:
        began = time.perf_counter()
        try:
            return await super().publish(**arguments)
        finally:
            self.publish_seconds.append(time.perf_counter() - began)


def measure_content(workdir: Path, repeats: int) -> ContentTimes:
    """The synchronous figures (the reloads are :func:`measure_reload`)."""
    digest_path = copy_seeds(workdir / "content")
    digest = load_digest(digest_path)
    edit(digest_path)
    edited = load_digest(digest_path)
    renderer = Renderer()
    context = sample_context(digest)
    render = {
        name: per_call(_rendering(renderer, name, context), repeats, 5)
        for name in renderer.message_templates()
    }
    return ContentTimes(
        load_validate=per_call(lambda: load_digest(digest_path), repeats),
        validate=per_call(lambda: inspect_digest(digest_path), repeats),
        diff=per_call(lambda: changes_between(digest, edited), repeats, 5),
        answer_engine=per_call(lambda: AnswerEngine(edited), repeats),
        render=render,
    )


def measure_reload(workdir: Path, database: Database, repeats: int) -> ReloadTimes:
    """Median times of ``repeats`` publishing reloads on ``database``."""
    digest_path = copy_seeds(workdir)
    database.seed(RELOAD_SUBSCRIBERS)
    versions = [digest_path.read_text(encoding="utf-8")]
    edit(digest_path)
    versions.append(digest_path.read_text(encoding="utf-8"))
    digest_path.write_text(versions[0], encoding="utf-8")
    totals, publishes = asyncio.run(_reloads(digest_path, database.url, versions, repeats))
    return ReloadTimes(
        database=database.engine_name,
        subscribers=RELOAD_SUBSCRIBERS,
        total=median(totals),
        publish=median(publishes),
        validate_diff_swap=median([t - p for t, p in zip(totals, publishes, strict=True)]),
        runs=len(totals),
    )


async def _reloads(
    digest_path: Path, url: str, versions: list[str], repeats: int
) -> tuple[list[float], list[float]]:
    store = await open_store(url)
    timed = store.versions = _TimedVersions(store.engine)
    timed.publish_seconds = []
    try:
        library = DigestLibrary(store, digest_path, Renderer(), load_digest(digest_path))
        await library.start()
        totals: list[float] = []
        publishes: list[float] = []
        for run in range(repeats + 1):
            await asyncio.to_thread(
                digest_path.write_text, versions[(run + 1) % 2], encoding="utf-8"
            )
            timed.publish_seconds.clear()
            began = time.perf_counter()
            outcome = await library.reload(ADMIN, check=False)
            elapsed = time.perf_counter() - began
            if outcome.problems or not outcome.diff or len(timed.publish_seconds) != 1:
                raise RuntimeError(f"the reload did not publish: {outcome}")
            if run:  # the first one warms the caches (templates, statements) up
                totals.append(elapsed)
                publishes.append(timed.publish_seconds[0])
        return totals, publishes
    finally:
        await store.close()
