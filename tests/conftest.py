"""Shared fixtures: the shipped digest and article (copied where a test may break them), the
Bot API double, and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot import SEEDS_DIR
from bot.digest import Digest, load_digest
from bot.store import Store
from tests.botapi import BotApiDouble
from tests.e2e import checked
from tests.postgres import empty_database, open_store

ARTICLE_NAME = "000_5af58b1d35c2d298.txt"


@pytest.fixture(scope="session")
def digest() -> Digest:
    """The digest shipped in seeds/, loaded once."""
    return load_digest(SEEDS_DIR / "digest.yaml")


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A writable copy of seeds/ (digest and article); returns the digest's path."""
    shutil.copy(SEEDS_DIR / ARTICLE_NAME, tmp_path / ARTICLE_NAME)
    shutil.copy(SEEDS_DIR / "digest.yaml", tmp_path / "digest.yaml")
    return tmp_path / "digest.yaml"


EditDigest = Callable[[str, str], tuple[Path, int]]


@pytest.fixture
def edit_digest(seeds_copy: Path) -> EditDigest:
    """Replace text once in the copied digest; returns its path and the edited line number."""

    def edit(old: str, new: str) -> tuple[Path, int]:
        text = seeds_copy.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur exactly once in the digest"
        seeds_copy.write_text(text.replace(old, new), encoding="utf-8")
        return seeds_copy, text[: text.index(old)].count("\n") + 1

    return edit


@pytest.fixture(autouse=True)
def _retry_after_as_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-telegram-bot 22 warns when RetryAfter carries seconds as an int, and warnings
    are errors here: opt in to the timedelta form it will use from version 23."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def api() -> Iterator[BotApiDouble]:
    """The Bot API double; the bot must keep its rules and answer every button press."""
    with checked(BotApiDouble()) as double:
        yield double


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL database (skipped unless
    ``BOT_TEST_DATABASE_URL`` names a server)."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The real store on the test's database, migrated as start-up does; closed afterwards."""
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()
