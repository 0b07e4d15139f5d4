"""Update broadcasts of the real ``python -m bot`` process: crashes, restarts, start-time publish.

The process polls the Bot API double; the test reads the SQLite ledger with the standard
``sqlite3`` module while the process is dead (or between its transactions) to know which
deliveries were in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import FREE_BROADCAST_RATE
from bot.delivery.sender import SenderPolicy
from tests.botapi import BotApiDouble
from tests.broadcast_helpers import (
    ADMIN,
    EDIT,
    HeldAnswers,
    add_subscribers,
    database_url,
    delivered_times,
    ledger,
    notified,
    table_count,
    update_calls,
    update_counts,
    updates,
    window_and_rate,
)
from tests.conftest import EditDigest
from tests.e2e import checked
from tests.processes import start_bot, stop_bot

START_TIMEOUT = 30.0


@pytest.fixture
def api() -> Iterator[HeldAnswers]:
    """The double of tests/conftest.py, able to hold its answers to sendMessage."""
    with checked(HeldAnswers()) as double:
        yield double


def environment(digest_path: Path, database: Path, rate: float) -> dict[str, str]:
    return {
        "BOT_ADMIN_IDS": str(ADMIN),
        "BOT_DIGEST_PATH": str(digest_path),
        "BOT_DATABASE_URL": database_url(database),
        "BOT_BROADCAST_RATE": str(rate),
        # Above 30/s Telegram wants a paid broadcast; the double accepts the parameter.
        "BOT_PAID_BROADCAST": str(rate > FREE_BROADCAST_RATE).lower(),
    }


def ask(api: BotApiDouble, chat_id: int, text: str, timeout: float = START_TIMEOUT) -> str:
    """Send ``text`` in a private chat and wait for the bot's one reply (queued until it polls)."""
    before = len(api.messages(chat_id))
    api.send_text(chat_id, text)
    return api.wait_for_messages(chat_id, before + 1, timeout=timeout)[before].visible_text


def start_serving(api: BotApiDouble, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the process and wait until it answers (its start-up publish, if any, is done)."""
    process = start_bot(api, cwd, **env)
    try:
        assert "Current version" in ask(api, ADMIN, "/stats")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def open_deliveries(database: Path) -> int:
    return sum(1 for _, _, status in ledger(database) if status in ("pending", "sending"))


def wait_settled(database: Path, timeout: float) -> None:
    """Wait until no delivery is pending or in flight (read between the bot's transactions)."""
    deadline = time.monotonic() + timeout
    while open_deliveries(database):
        assert time.monotonic() < deadline, "the broadcast did not finish"
        time.sleep(0.1)


def test_kill_9_mid_broadcast_resumes_without_skipping_anyone(
    api: HeldAnswers, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    rate, count = 50, 300
    subscribers = list(range(10_001, 10_001 + count))
    database = tmp_path / "state.sqlite3"
    asyncio.run(add_subscribers(database_url(database), subscribers))
    env = environment(seeds_copy, database, rate)
    kill_after = int(count * 0.4)
    held = min(5, SenderPolicy().concurrency - 1)  # fewer than the sender has in flight at most

    process = start_serving(api, tmp_path, env)
    try:
        edit_digest(*EDIT)
        digest_after_reload = seeds_copy.read_bytes()
        assert notified(ask(api, ADMIN, "/reload")) == count
        # Near 40%, the double stops answering: the next few messages are delivered but the
        # bot never hears so. The kill then finds them in flight, as a crash at any moment
        # could, only certainly and several at once.
        api.wait_for(lambda d: len(delivered_times(d)) >= kill_after - held, timeout=count / rate)
        api.hold = 10.0
        api.wait_for(lambda d: len(delivered_times(d)) >= kill_after, timeout=5)
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait(timeout=10)
    finally:
        api.hold = 0.0
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.3)  # requests that reached the double before the kill finish being handled
    killed_at = time.monotonic()

    rows = ledger(database)
    assert {chat for _, chat, _ in rows} == set(subscribers)
    broadcasts = {broadcast for broadcast, _, _ in rows}
    assert len(broadcasts) == 1
    received = {chat for chat in subscribers if updates(api, chat)}
    sending = {chat for _, chat, status in rows if status == "sending"}
    sent = {chat for _, chat, status in rows if status == "sent"}
    in_flight = sending & received
    assert sent <= received  # an outcome is committed only after Telegram answered
    assert received <= sent | sending  # nothing arrived that the ledger had not claimed
    assert 0 < len(received) < count, "the kill must land in the middle of the broadcast"
    assert len(in_flight) >= held  # the held messages: delivered, outcome never committed
    first_run = delivered_times(api)
    versions, broadcast_rows = table_count(database, "digest_versions"), len(broadcasts)

    process = start_bot(api, tmp_path, **env)  # no /reload: the ledger alone resumes it
    try:
        # On a timeout, go on: the assertions below say who was lost.
        with contextlib.suppress(AssertionError):
            api.wait_for(
                lambda d: all(updates(d, chat) for chat in subscribers),
                timeout=START_TIMEOUT + count / rate,
            )
            wait_settled(database, timeout=10)
        time.sleep(0.5)  # anything sent twice would show up now
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert "Traceback" not in stderr

    counts = update_counts(api, subscribers)
    lost = sorted(chat for chat, n in counts.items() if n == 0)
    duplicates = {chat for chat, n in counts.items() if n == 2}
    assert lost == []
    assert duplicates <= in_flight, sorted(duplicates - in_flight)
    assert max(counts.values()) <= 2
    # The restart published nothing: the same file, no new version, still one broadcast,
    # every update the same text.
    assert seeds_copy.read_bytes() == digest_after_reload
    assert table_count(database, "digest_versions") == versions
    assert table_count(database, "broadcasts") == broadcast_rows == 1
    assert len({c.params["text"] for c in update_calls(api)}) == 1
    assert {status for _, _, status in ledger(database)} == {"sent"}

    second_run = [t for t in delivered_times(api) if t > killed_at]
    assert len(first_run) + len(second_run) == count + len(duplicates)
    figures = [window_and_rate(run) for run in (first_run, second_run)]
    print(
        f"\nkill -9: {count} subscribers at {rate}/s; {len(first_run)} sent before the kill; "
        f"in flight |F| = {len(in_flight)} (claimed but not committed: {len(sending)}); "
        f"duplicates {len(duplicates)}; lost {len(lost)}; "
        + "; ".join(
            f"run {n}: busiest 1-s window {busiest}, achieved {achieved:.2f}/s "
            f"({achieved / rate:.1%} of the setting)"
            for n, (busiest, achieved) in enumerate(figures, 1)
        )
    )
    for busiest, achieved in figures:
        assert busiest <= rate
        assert achieved <= rate


def test_restart_keeps_subscriptions_and_sends_nothing_twice(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = [20_001, 20_002, 20_003]
    database = tmp_path / "state.sqlite3"
    env = environment(seeds_copy, database, 25)

    process = start_serving(api, tmp_path, env)
    try:
        for chat in subscribers:
            assert ask(api, chat, "/subscribe").startswith("✅ Subscribed.")
        edit_digest(*EDIT)
        assert notified(ask(api, ADMIN, "/reload")) == len(subscribers)
        api.wait_for(lambda d: all(updates(d, chat) for chat in subscribers), timeout=10)
        wait_settled(database, timeout=10)
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    sent_before = len(update_calls(api))
    assert sent_before == len(subscribers)

    process = start_serving(api, tmp_path, env)
    try:
        for chat in subscribers:
            assert "You are subscribed to updates since" in ask(api, chat, "/status")
        time.sleep(2.0)  # a resumed or repeated broadcast would have started by now
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert len(update_calls(api)) == sent_before
    assert update_counts(api, subscribers) == dict.fromkeys(subscribers, 1)
    assert table_count(database, "broadcasts") == 1


def test_a_digest_edited_while_stopped_is_published_at_start(
    api: BotApiDouble, tmp_path: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    stored = list(range(30_001, 30_006))
    by_command = 30_100
    subscribers = [*stored, by_command]
    database = tmp_path / "state.sqlite3"
    asyncio.run(add_subscribers(database_url(database), stored))
    env = environment(seeds_copy, database, 25)

    process = start_serving(api, tmp_path, env)  # the first start publishes silently
    try:
        assert ask(api, by_command, "/subscribe").startswith("✅ Subscribed.")
        time.sleep(0.5)
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert update_calls(api) == []

    edit_digest(*EDIT)
    process = start_serving(api, tmp_path, env)
    try:
        api.wait_for(lambda d: all(updates(d, chat) for chat in subscribers), timeout=10)
        wait_settled(database, timeout=10)
        time.sleep(0.5)
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert update_counts(api, subscribers) == dict.fromkeys(subscribers, 1)
    assert update_counts(api, [ADMIN]) == {ADMIN: 0}
    sent_before = len(update_calls(api))

    process = start_serving(api, tmp_path, env)  # unchanged file: nothing to announce
    try:
        time.sleep(2.0)
    finally:
        code, stderr = stop_bot(process, tmp_path)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert len(update_calls(api)) == sent_before
    assert table_count(database, "broadcasts") == 1
