"""Two real bot processes in webhook mode sharing one PostgreSQL: one sender at a time.

The leader is killed (SIGKILL) in the middle of a broadcast; the other replica takes over
the delivery ledger within seconds, every subscriber is served, duplicates are only the
messages in flight, and the send rate holds across both processes.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.delivery.sender import SenderPolicy
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import max_in_window
from tests.conftest import EditDigest
from tests.postgres import fresh_database, open_store
from tests.processes import start_bot, stop_bot

ADMIN = 9001
SUBSCRIBERS = range(20_001, 20_201)  # 200 chats
RATE = 25
SECRET = "replica-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(update_id: int, text: str) -> dict[str, Any]:
    """The update Telegram would post for ``text`` sent by the admin in a private chat."""
    person = {"id": ADMIN, "is_bot": False, "first_name": "Admin"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": ADMIN, "type": "private", "first_name": "Admin"},
            "from": person,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def wait_until(check: Any, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.1)


def update_sends(api: BotApiDouble) -> list[tuple[float, int]]:
    return [
        (call.time, call.params["chat_id"])
        for call in api.calls_to("sendMessage")
        if call.response_status == 200 and str(call.params.get("text", "")).startswith("🔔")
    ]


async def test_the_other_replica_takes_over_a_broadcast_when_the_leader_dies(
    tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    async with fresh_database() as url:
        store = await open_store(url)
        for chat in SUBSCRIBERS:
            await store.subscriptions.subscribe(chat, chat_type="private", title=None)
        await store.close()

        with BotApiDouble() as api:
            ports = [free_port(), free_port()]
            homes = [tmp_path / "a", tmp_path / "b"]
            processes: list[subprocess.Popen[bytes]] = []
            for home, port in zip(homes, ports, strict=True):
                home.mkdir()
                processes.append(
                    start_bot(
                        api,
                        home,
                        BOT_MODE="webhook",
                        BOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                        BOT_WEBHOOK_SECRET=SECRET,
                        BOT_LISTEN="127.0.0.1",
                        BOT_PORT=str(port),
                        BOT_DATABASE_URL=url,
                        BOT_DIGEST_PATH=str(seeds_copy),
                        BOT_ADMIN_IDS=str(ADMIN),
                        BOT_BROADCAST_RATE=str(RATE),
                    )
                )
            try:
                async with httpx.AsyncClient(timeout=5) as client:

                    async def health(port: int) -> dict[str, Any] | None:
                        try:
                            answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                        except httpx.TransportError:
                            return None
                        return answer.json() if answer.status_code == 200 else None

                    async def both_up() -> bool:
                        return all([await health(port) for port in ports])

                    await wait_until(both_up, 60)
                    states = [(await health(port)) or {} for port in ports]
                    assert sorted(state["sender"] for state in states) == ["leading", "standby"]
                    leader = [state["sender"] for state in states].index("leading")

                    # The admin's /reload reaches the standby replica: the leader sends.
                    edit_digest(
                        "    context: Continuing the same remarks.", "    context: Still speaking."
                    )
                    posted = await client.post(
                        f"http://127.0.0.1:{ports[1 - leader]}/telegram",
                        json=command(1, "/reload"),
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                    assert posted.status_code == 200
                    await wait_until(lambda: _at_least(api, 60), 30)
                    processes[leader].kill()  # SIGKILL: no goodbye, the lock goes with the socket
                    killed_at = time.monotonic()
                    processes[leader].wait()
                    sent_before = len(update_sends(api))

                    async def everyone_served() -> bool:
                        return {chat for _, chat in update_sends(api)} >= set(SUBSCRIBERS)

                    await wait_until(everyone_served, 60)
                    after_kill = [t for t, _ in update_sends(api) if t > killed_at]
                    failover = min(after_kill) - killed_at
                    assert (await health(ports[1 - leader]) or {}).get("sender") == "leading"
            finally:
                for process, home in zip(processes, homes, strict=True):
                    if process.poll() is None:
                        code, log = stop_bot(process, home)
                        assert code == 0, log
            sends = update_sends(api)
            counts = Counter(chat for _, chat in sends)
            duplicates = sum(count - 1 for count in counts.values())
            busiest = max_in_window([t for t, _ in sends])
            print(
                f"\nreplicas: {len(SUBSCRIBERS)} subscribers at {RATE}/s; leader killed after "
                f"{sent_before} sends; failover {failover:.2f} s; duplicates {duplicates}; "
                f"lost {len(set(SUBSCRIBERS) - set(counts))}; busiest 1-s window {busiest}"
            )
            assert failover < 10
            assert set(counts) == set(SUBSCRIBERS)  # nobody lost
            assert duplicates <= SenderPolicy.for_rate(RATE).concurrency  # only in flight
            assert max(counts.values()) <= 2
            assert busiest <= RATE
            assert api.violations == []


async def _at_least(api: BotApiDouble, count: int) -> bool:
    return len(update_sends(api)) >= count


pytestmark = pytest.mark.timeout(180)
