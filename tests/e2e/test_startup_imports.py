"""Start-up stays lean: Alembic only when a migration runs, the webhook stack only for webhooks.

A restart on a database already at the head revision must not import Alembic (it is a good
part of the start-up time and memory); a new or older database is migrated through it. A
polling bot never imports the webhook stack (bot.web: Starlette, Uvicorn) nor the console.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, text

import bot.store.schema
from bot.store import SCHEMA_HEAD, Store, alembic_config
from tests.botapi import BotApiDouble
from tests.e2e import TEST_TOKEN
from tests.postgres import open_store
from tests.processes import bot_environment, run_bot, stop_bot

USER = 5151
WEBHOOK_STACK = ("bot.web", "starlette", "uvicorn")


async def revisions(url: str) -> list[str] | None:
    store = Store.connect(url)
    try:
        return await store.schema_revisions()
    finally:
        await store.close()


async def open_and_close(url: str) -> None:
    await (await open_store(url)).close()


# -- the head revision, known without Alembic -----------------------------------------------


def test_schema_head_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


# -- when Alembic runs -------------------------------------------------------------------


async def test_a_schema_at_head_is_left_to_itself(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await revisions(database_url) is None  # a new database: no alembic_version yet
    upgrades: list[Connection] = []
    upgrade = bot.store.schema.upgrade

    def counting(connection: Connection) -> None:
        upgrades.append(connection)
        upgrade(connection)

    monkeypatch.setattr(bot.store.schema, "upgrade", counting)
    await open_and_close(database_url)
    assert len(upgrades) == 1
    assert await revisions(database_url) == [SCHEMA_HEAD]
    await open_and_close(database_url)
    assert len(upgrades) == 1  # at head: not even asked


async def test_a_downgraded_schema_is_upgraded(database_url: str) -> None:
    await open_and_close(database_url)
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    assert await revisions(database_url) == []
    store = await open_store(database_url)
    try:
        assert await store.subscriptions.subscribe(1, chat_type="private", title=None)
        assert await store.schema_revisions() == [SCHEMA_HEAD]
    finally:
        await store.close()


async def test_an_unknown_revision_is_still_alembics_to_refuse(database_url: str) -> None:
    await open_and_close(database_url)
    store = Store.connect(database_url)
    try:
        async with store.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'zzzz'"))
        with pytest.raises(CommandError, match="zzzz"):
            await store.migrate()
    finally:
        await store.close()


async def test_a_schema_one_revision_behind_is_upgraded(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_and_close(database_url)  # at today's head
    newer = tmp_path / "migrations"
    shutil.copytree(
        bot.store.schema.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__")
    )
    old_head = SCHEMA_HEAD
    (newer / "versions" / "9999_extra.py").write_text(
        '"""An extra table."""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "9999"\ndown_revision = "{old_head}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.create_table("extra", sa.Column("id", sa.Integer(), primary_key=True))\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_table("extra")\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(bot.store.schema, "MIGRATIONS_DIR", newer)
    monkeypatch.setattr(bot.store.schema, "SCHEMA_HEAD", "9999")
    store = await open_store(database_url)
    try:
        assert await store.schema_revisions() == ["9999"]
        async with store.engine.begin() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM extra"))).scalar() == 0
    finally:
        await store.close()


# -- what a process imports ----------------------------------------------------------------

OPEN_STORE = """
import asyncio, sys
from bot.store import Store

async def main():
    store = Store.connect(sys.argv[1])
    await store.migrate()
    await store.close()

asyncio.run(main())
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] == "alembic")))
"""


def _alembic_modules_after_open(url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_STORE, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_opening_a_store_at_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    assert "alembic.command" in _alembic_modules_after_open(url).split()  # a new database
    assert _alembic_modules_after_open(url) == ""  # a restart


# ``python -m bot``, writing the names of the modules it imported when it exits.
RUN_BOT = """
import atexit, runpy, sys
out = sys.argv[1]
del sys.argv[1:]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


def _bot_environment(api: BotApiDouble, tmp_path: Path, **extra: str) -> dict[str, str]:
    database = f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"
    return bot_environment(api, BOT_DATABASE_URL=database, **extra)


def _polling_run(api: BotApiDouble, tmp_path: Path, run: int) -> tuple[set[str], str]:
    """Start the bot, have it answer /start, stop it: the modules it imported, its log."""
    cwd = tmp_path / f"run{run}"
    cwd.mkdir()
    modules = cwd / "modules.txt"
    before = len(api.messages(USER))
    with (cwd / "stdout.log").open("w") as stdout, (cwd / "stderr.log").open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN_BOT, str(modules)],
            cwd=cwd,
            env=_bot_environment(api, tmp_path),
            stdout=stdout,
            stderr=stderr,
        )
    try:
        api.send_text(USER, "/start")
        api.wait_for_messages(USER, before + 1, timeout=30)
    finally:
        code, log = stop_bot(process, cwd)
    assert code == 0, log
    assert api.messages(USER)[-1].visible_text.startswith("👋")
    return set(modules.read_text(encoding="utf-8").split()), log


def test_a_polling_bot_imports_no_webhook_stack_and_on_restart_no_alembic(
    api: BotApiDouble, tmp_path: Path
) -> None:
    first, log = _polling_run(api, tmp_path, 1)
    assert "alembic.command" in first  # a new database is migrated
    assert "Running upgrade  -> " in log
    assert "setup plugin" not in log  # what Alembic logs while it is imported stays out
    again, log = _polling_run(api, tmp_path, 2)
    for imported in (first, again):
        assert "telegram.ext" in imported
        assert not [name for name in imported if name.split(".")[0] in WEBHOOK_STACK]
        assert "bot.console" not in imported
    assert not [name for name in again if name.split(".")[0] == "alembic"]
    assert "alembic" not in log
    assert "Traceback" not in log


# -- webhook mode, imported on demand --------------------------------------------------------


def test_webhook_settings_are_still_checked_before_start(tmp_path: Path) -> None:
    result = run_bot(
        cwd=tmp_path, BOT_TOKEN=TEST_TOKEN, BOT_MODE="webhook", BOT_WEBHOOK_SECRET="s3cret"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: bad settings\nBOT_WEBHOOK_URL: required")


def test_a_webhook_port_in_use_exits_2_naming_it(api: BotApiDouble, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_bot(
            cwd=tmp_path,
            env=_bot_environment(
                api,
                tmp_path,
                BOT_MODE="webhook",
                BOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                BOT_WEBHOOK_SECRET="s3cret",
                BOT_PORT=str(port),
            ),
        )
    assert result.returncode == 2, result.stderr
    assert "error: BOT_LISTEN, BOT_PORT: " in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
