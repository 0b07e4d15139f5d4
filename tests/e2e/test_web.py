"""Webhook mode over real HTTP: Uvicorn on 127.0.0.1, the application against the Bot API double.

The bot registers its webhook with the double, then Telegram's side is played by an httpx
client POSTing Updates to the bot's server, as Telegram would, with or without the secret.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import metrics
from bot.chat.app import build_application
from bot.chat.ordering import ADMITTED_PER_RUNNING, AdmissionQueue
from bot.config import webhook_path
from bot.digest import Digest
from bot.logs import RedactSecrets
from bot.store import Store
from bot.web import (
    MAX_BODY,
    SECRET_HEADER,
    ListenError,
    create_web_app,
    listen_socket,
    registered_url,
)
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import EDIT, UPDATE_PREFIX
from tests.conftest import EditDigest
from tests.e2e import TEST_TOKEN
from tests.e2e.webhooks import (
    SECRET,
    message_update,
    serving,
    webhook_bot,
    webhook_settings,
)

ADMIN = 5501


async def test_registers_the_webhook_and_serves_posted_updates(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    async with webhook_bot(api, tmp_path, digest) as bot:
        [registration] = api.calls_to("setWebhook")
        assert registration.params["url"] == bot.settings.webhook_url
        assert registration.params["secret_token"] == SECRET
        assert registration.params.get("drop_pending_updates") in (None, False)
        assert "callback_query" in registration.params["allowed_updates"]

        [summary] = await bot.say(1001, "/summary")
        assert "39,000" in summary
    assert api.calls_to("deleteWebhook") == []  # other replicas may still be serving


async def test_requests_without_the_secret_are_refused_and_never_processed(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    async with webhook_bot(api, tmp_path, digest) as bot:
        missing = await bot.post_update(message_update(2001, "/summary"), secret=None)
        wrong = await bot.post_update(message_update(2002, "/summary"), secret="s3cret-tesT")
        longer = await bot.post_update(message_update(2003, "/summary"), secret=SECRET + "x")
        empty = await bot.post_update(message_update(2004, "/summary"), secret="")
        assert [r.status_code for r in (missing, wrong, longer, empty)] == [403] * 4
        assert SECRET not in missing.text + wrong.text

        # Refused requests are never queued: only this one is answered.
        await bot.say(2005, "/help")
        assert api.chats_messaged() == [2005]
        assert len(api.calls_to("sendMessage")) == 1


async def test_oversized_and_malformed_bodies_are_refused(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    async with webhook_bot(api, tmp_path, digest) as bot:
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        big = b'{"update_id": 1, "message": {"text": "' + b"x" * MAX_BODY + b'"}}'
        declared = await bot.client.post("/telegram", content=big, headers=headers)
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: capped while read
            for _ in range(MAX_BODY // 65536 + 2):
                yield b" " * 65536

        streamed = await bot.client.post("/telegram", content=chunks(), headers=headers)
        assert streamed.status_code == 413

        malformed = (
            b'{"update_id": 1, "message":',
            b"\xff\xfe",
            b"[1, 2]",
            b'{"no": "id"}',
            b'{"update_id": 1, "message": "not an object"}',
            b'{"update_id": 1, "message": {"text": "no chat, no date"}}',
        )
        for body in malformed:
            response = await bot.client.post("/telegram", content=body, headers=headers)
            assert response.status_code == 400, body

        # The webhook is only for POST, and nothing else is served.
        assert (await bot.client.get("/telegram")).status_code == 405
        assert (await bot.client.get("/")).status_code == 404

        # Just under the limit is fine (an update with a long text, in chat 3001).
        update = message_update(3001, "x" * 4000)
        assert (await bot.post_update(update)).status_code == 200
        await api.wait_for_messages_async(3001, 1)


# -- health -------------------------------------------------------------------------------


async def test_healthz_reports_version_subscribers_and_the_last_broadcast(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    async with webhook_bot(
        api, tmp_path, admin_ids=frozenset({ADMIN}), digest_path=seeds_copy
    ) as bot:
        response = await bot.client.get("/healthz")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        first = bot.application.bot_data.library.version.id
        assert response.json() == {
            "status": "ok",
            "version": first,
            "sender": "leading",  # SQLite: the one process always sends
            "subscribers": {"active": 0, "inactive": 0},
            "last_broadcast": None,
        }

        await bot.say(ADMIN, "/subscribe")
        edit_digest(*EDIT)
        # The admin gets the reload's report and, as a subscriber, the update itself.
        texts = await bot.say(ADMIN, "/reload", replies=2)
        assert any(text.startswith(UPDATE_PREFIX) for text in texts)

        health = (await bot.client.get("/healthz")).json()
        assert health["status"] == "ok"
        assert health["version"] == bot.application.bot_data.library.version.id != first
        assert health["subscribers"] == {"active": 1, "inactive": 0}
        broadcast = health["last_broadcast"]
        assert broadcast["version"] == health["version"]
        assert broadcast["recipients"] == 1
        assert broadcast["sent"] + broadcast["pending"] == 1  # its outcome may be uncommitted
        assert (broadcast["blocked"], broadcast["failed"]) == (0, 0)


async def test_healthz_is_503_when_the_database_does_not_answer(
    api: BotApiDouble, tmp_path: Path, digest: Digest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database the engine cannot open: SQLite pointed at a directory.
    broken = Store.connect(f"sqlite+aiosqlite:///{tmp_path}")
    try:
        async with webhook_bot(api, tmp_path, digest) as bot:
            store = bot.application.bot_data.store  # the services are frozen: patch the store
            monkeypatch.setattr(store, "subscriptions", broken.subscriptions)
            response = await bot.client.get("/healthz")
            assert response.status_code == 503
            assert response.json() == {
                "status": "unavailable",
                "reason": "the database does not answer",
            }
            for secret in (SECRET, TEST_TOKEN, str(tmp_path), "Traceback"):
                assert secret not in response.text
            monkeypatch.undo()
            assert (await bot.client.get("/healthz")).status_code == 200
    finally:
        await broken.close()


async def test_healthz_is_503_when_the_database_hangs(
    api: BotApiDouble, tmp_path: Path, digest: Digest, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Hanging:
        async def subscriber_counts(self) -> None:
            await asyncio.sleep(60)

    monkeypatch.setattr("bot.web.HEALTH_TIMEOUT", 0.2)
    async with webhook_bot(api, tmp_path, digest) as bot:
        monkeypatch.setattr(bot.application.bot_data.store, "subscriptions", Hanging())
        started = time.monotonic()
        response = await bot.client.get("/healthz")
        assert response.status_code == 503
        assert time.monotonic() - started < 5
        monkeypatch.undo()


async def test_the_application_holds_back_updates_beyond_twice_its_concurrency(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    settings = webhook_settings(api, tmp_path, 8443)
    application = build_application(settings, digest=digest)  # built, never started
    queue = application.update_queue
    assert isinstance(queue, AdmissionQueue)
    assert queue.limit == ADMITTED_PER_RUNNING * settings.concurrent_updates
    # Polling (bot.chat.polling) and the webhook both put into this queue, so both wait
    # once it is full; PTB's own updater is not there to bypass it.
    assert application.updater is None


async def test_healthz_is_503_until_the_digest_is_served(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    settings = webhook_settings(api, tmp_path, 8443)
    application = build_application(settings, digest=digest)  # built, never started
    async with serving(create_web_app(application, settings)) as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "the digest is not loaded yet"}


# -- metrics ------------------------------------------------------------------------------


async def test_metrics_are_served_in_the_prometheus_format(
    api: BotApiDouble, tmp_path: Path, digest: Digest
) -> None:
    async with webhook_bot(api, tmp_path, digest) as bot:
        response = await bot.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-type"] == metrics.CONTENT_TYPE
    for line in (
        "# TYPE updates_total counter",
        'updates_total{command="summary"}',
        'updates_total{command="callback"}',
        "# TYPE replies_total counter",
        'deliveries_total{outcome="sent"}',
        'deliveries_total{outcome="retried"}',
        "# TYPE send_seconds histogram",
        'send_seconds_bucket{le="0.1"}',
        "# TYPE flood_waits_total counter",
    ):
        assert line in response.text
    assert "_created" not in response.text


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_metric_helpers_count_with_bounded_labels() -> None:
    assert metrics.update_kind("/Summary@StoryBriefBot extra") == "summary"
    assert metrics.update_kind("/ask how many?") == "ask"
    assert metrics.update_kind("/no_such_command") == "other"
    assert metrics.update_kind("how many migrants?") == "text"
    assert metrics.update_kind(None) == "other"
    assert metrics.update_kind("/summary", callback=True) == "callback"

    before = {
        "summary": sample("updates_total", command="summary"),
        "other": sample("updates_total", command="other"),
        "replies": sample("replies_total"),
        "blocked": sample("deliveries_total", outcome="blocked"),
        "floods": sample("flood_waits_total"),
        "sends": sample("send_seconds_count"),
    }
    metrics.count_update("summary")
    metrics.count_update("/zz_typed_by_a_user")  # never a label of its own
    metrics.count_reply(2)
    metrics.count_delivery("blocked")
    metrics.count_flood_wait()
    with metrics.time_send():
        pass
    with pytest.raises(RuntimeError), metrics.time_send():
        raise RuntimeError("a failed send is timed too")
    assert sample("updates_total", command="summary") == before["summary"] + 1
    assert sample("updates_total", command="other") == before["other"] + 1
    assert sample("replies_total") == before["replies"] + 2
    assert sample("deliveries_total", outcome="blocked") == before["blocked"] + 1
    assert sample("flood_waits_total") == before["floods"] + 1
    assert sample("send_seconds_count") == before["sends"] + 2
    assert "zz_typed" not in metrics.exposition().decode()


# -- addresses --------------------------------------------------------------------------


def test_the_webhook_path_and_registered_url() -> None:
    assert webhook_path("https://bot.example.org/telegram") == "/telegram"
    assert webhook_path("https://bot.example.org/bots/story-brief") == "/bots/story-brief"
    # No path: Telegram would post to "/"; the bot registers and serves /telegram instead.
    for url in ("https://bot.example.org", "https://bot.example.org/"):
        assert webhook_path(url) == "/telegram"
        assert registered_url(url) == "https://bot.example.org/telegram"
    assert registered_url("https://h.example:8443/hook?x=1") == "https://h.example:8443/hook?x=1"


def test_a_port_in_use_is_a_listen_error_naming_the_variables() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"^BOT_LISTEN, BOT_PORT: .*127\.0\.0\.1:{port}"):
            listen_socket("127.0.0.1", port)


# -- secrets in logs ----------------------------------------------------------------------


async def test_token_and_secret_never_reach_the_logs(
    api: BotApiDouble, tmp_path: Path, digest: Digest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with webhook_bot(api, tmp_path, digest) as bot:
        await bot.say(4001, "/summary")
        assert (await bot.post_update(message_update(4002, "/help"), secret="guess")).status_code
        assert (await bot.client.get("/healthz")).status_code == 200
    secrets = (TEST_TOKEN, SECRET)

    # What this code and the web server log themselves carries neither, even unredacted.
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "uvicorn", "starlette")]
    assert any(r.name == "bot.web" for r in ours)
    for record in ours:
        text = logging.Formatter().format(record)
        assert not any(secret in text for secret in secrets), text

    # python-telegram-bot logs request parameters at DEBUG (setWebhook's secret_token among
    # them): the bot's log handler redacts every secret (bot.logs), as here.
    redact = RedactSecrets(list(secrets))
    for record in caplog.records:
        redact.filter(record)
        text = logging.Formatter().format(record)
        assert not any(secret in text for secret in secrets), text


# -- a real process -----------------------------------------------------------------------

# What ``python -m bot`` does in webhook mode (see bot.cli): logging that redacts the token and
# the secret, then serve until a signal.
DRIVER = """
import asyncio, os, sys
os.environ.setdefault("PTB_TIMEDELTA", "true")
from bot.chat.app import build_application
from bot.config import load_settings
from bot.logs import configure_logging
from bot.web import serve

settings = load_settings()  # webhook mode's settings are checked here too
secrets = [settings.token.get_secret_value(), settings.webhook_secret.get_secret_value()]
configure_logging(settings.log_level, secrets)
asyncio.run(serve(build_application(settings), settings))
print("exited cleanly", file=sys.stderr)
"""


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


async def test_a_webhook_process_stops_gracefully_on_sigterm_and_logs_no_secret(
    api: BotApiDouble, tmp_path: Path
) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    env |= {
        "BOT_TOKEN": TEST_TOKEN,
        "BOT_API_BASE_URL": api.base_url,
        "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}",
        "BOT_MODE": "webhook",
        "BOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "BOT_WEBHOOK_SECRET": SECRET,
        "BOT_PORT": str(port),
        "BOT_LOG_LEVEL": "DEBUG",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", DRIVER, cwd=tmp_path, env=env, stderr=stderr
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.returncode is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            update = message_update(6001, "/summary")
            response = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
            await api.wait_for_messages_async(6001, 1, timeout=30)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = log.read_text(encoding="utf-8")
    assert code == 0, text
    assert "webhook registered" in text
    assert "webhook server stopped; stopping the bot" in text
    assert text.rstrip().endswith("exited cleanly"), text
    assert TEST_TOKEN not in text
    assert SECRET not in text
    assert re.search(r"setWebhook.*\[secret\]", text)  # logged by PTB at DEBUG, redacted
