"""Fixtures of the end-to-end tests: the bot's settings and the bot polling the double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.context import BriefApplication
from bot.config import Settings
from bot.digest import Digest
from tests.botapi import BotApiDouble
from tests.e2e import ADMIN, polling, settings_for


@pytest.fixture
def settings(api: BotApiDouble, seeds_copy: Path, tmp_path: Path) -> Settings:
    """Settings for the double: :data:`tests.e2e.ADMIN` is the admin, the digest a writable
    copy of the seed's (``seeds_copy``), the state an SQLite file."""
    return settings_for(
        api, tmp_path / "state.sqlite3", admin_ids=frozenset({ADMIN}), digest_path=seeds_copy
    )


@pytest.fixture
async def bot(
    api: BotApiDouble, settings: Settings, digest: Digest
) -> AsyncIterator[BriefApplication]:
    """The application polling the double with ``settings``, the seed's digest preloaded."""
    async with polling(api, settings, digest) as application:
        yield application
