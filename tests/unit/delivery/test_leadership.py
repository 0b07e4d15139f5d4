"""Exactly one process drains the ledger: the leader lock, on SQLite and PostgreSQL.

The PostgreSQL tests run when ``BOT_TEST_DATABASE_URL`` is set; each gets a database of its
own (created from that server and dropped afterwards, as in tests/unit/store/test_store.py), so its
advisory locks are its own. Failover times are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.delivery.leadership import LEADER_LOCK_KEY, Leadership
from tests import REPO_ROOT
from tests.postgres import PG_URL, SKIP_REASON, fresh_database

needs_pg = pytest.mark.skipif(not PG_URL, reason=SKIP_REASON)

FAILOVER_BOUND = 10.0
"""Seconds within which another replica must take over (issue 4)."""


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database of this test's own; dropped afterwards."""
    async with fresh_database() as url:
        yield url


async def sql(url: str, statement: str, **params: Any) -> Any:
    """Run one statement on its own connection; the first column of the first row."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(statement), params)).scalar()
    finally:
        await engine.dispose()


LOCK_HOLDERS = """
    SELECT array_agg(pid ORDER BY pid) FROM pg_locks
    WHERE locktype = 'advisory' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1
"""


async def lock_holders(url: str) -> list[int]:
    """Backend pids holding the leader lock on ``url``'s database."""
    high, low = LEADER_LOCK_KEY >> 32, LEADER_LOCK_KEY & 0xFFFF_FFFF
    return list(await sql(url, LOCK_HOLDERS, high=high, low=low) or [])


class Term:
    """lead() / stop_leading() for a test: counts the terms, each waits for its stop."""

    def __init__(self, *, fail_first: bool = False) -> None:
        self.started = 0
        self.stopped = 0
        self._fail_first = fail_first
        self._stop = asyncio.Event()

    def lead(self) -> Awaitable[None]:
        stop = self._stop = asyncio.Event()  # a fresh term, as a fresh sender would be
        self.started += 1
        failing = self._fail_first and self.started == 1

        async def leading() -> None:
            if failing:
                raise RuntimeError("the sender broke")
            await stop.wait()

        return leading()

    def stop_leading(self) -> None:
        self.stopped += 1
        self._stop.set()


Candidate = tuple[Leadership, Term, "asyncio.Task[None]"]


def candidate(pg_url: str) -> Candidate:
    """A replica running for leadership at once (sending as soon as it leads): its
    Leadership, its Term, its run."""
    leadership, term = Leadership(pg_url, takeover_pause=0.0), Term()
    return leadership, term, asyncio.create_task(leadership.run(term.lead, term.stop_leading))


async def leader_and_follower(pg_url: str) -> tuple[Candidate, Candidate]:
    """A replica that leads, then a second one running for leadership."""
    first = candidate(pg_url)
    await wait_until(lambda: first[0].is_leader, 5, "the first leads")
    return first, candidate(pg_url)


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took. Fails after ``within`` seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def never_both(first: Leadership, second: Leadership, seconds: float) -> None:
    """For ``seconds``: always exactly one of the two leads."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert first.is_leader != second.is_leader, (first.is_leader, second.is_leader)
        await asyncio.sleep(0.01)


async def finish(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- SQLite: one process by design, always the leader ----------------------------------------


async def test_sqlite_leads_at_once_and_stops_cleanly(tmp_path: Path) -> None:
    leadership = Leadership(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    term = Term()
    assert not leadership.is_leader
    run = asyncio.create_task(leadership.run(term.lead, term.stop_leading))
    waited = await wait_until(lambda: leadership.is_leader and term.started == 1, 1.0, "lead")
    assert waited < 0.5
    await asyncio.sleep(0.1)
    assert term.started == 1
    leadership.stop()
    await asyncio.wait_for(run, 5)
    assert (term.started, term.stopped) == (1, 1)
    assert not leadership.is_leader


async def test_sqlite_cancelling_run_cancels_lead(tmp_path: Path) -> None:
    leadership = Leadership(f"sqlite:///{tmp_path / 'bot.db'}")
    cancelled = asyncio.Event()

    async def lead() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    run = asyncio.create_task(leadership.run(lead, lambda: None))
    await wait_until(lambda: leadership.is_leader, 1.0, "lead")
    await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert cancelled.is_set()
    assert not leadership.is_leader


async def test_lead_returning_on_its_own_ends_the_run(tmp_path: Path) -> None:
    """sender.stop() called directly: run() returns once the sender has."""
    leadership = Leadership(f"sqlite:///{tmp_path / 'bot.db'}")
    stopped: list[bool] = []

    async def lead() -> None:
        await asyncio.sleep(0.05)

    await asyncio.wait_for(leadership.run(lead, lambda: stopped.append(True)), 5)
    assert not leadership.is_leader
    assert stopped == []  # it returned by itself: nobody had to ask


async def test_an_unreachable_server_never_leads_and_stops_promptly() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    leadership = Leadership("postgresql://postgres@127.0.0.1:1/none", retry_interval=0.2)
    term = Term()
    run = asyncio.create_task(leadership.run(term.lead, term.stop_leading))
    await asyncio.sleep(1.0)
    assert not leadership.is_leader
    assert term.started == 0
    leadership.stop()
    await asyncio.wait_for(run, 5)


# -- PostgreSQL: two leaderships in one process -------------------------------------------


async def test_exactly_one_of_two_leads_and_the_other_takes_over_on_cancel(pg_url: str) -> None:
    first, second = Leadership(pg_url, takeover_pause=0.0), Leadership(pg_url, takeover_pause=0.0)
    first_term, second_term = Term(), Term()
    first_run = asyncio.create_task(first.run(first_term.lead, first_term.stop_leading))
    second_run: asyncio.Task[None] | None = None
    try:
        await wait_until(lambda: first.is_leader, 5, "the first leads")
        second_run = asyncio.create_task(second.run(second_term.lead, second_term.stop_leading))
        # Two retries of the second one go by: it still does not lead.
        await never_both(first, second, 2.5 * second.retry_interval)
        assert second_term.started == 0
        assert len(await lock_holders(pg_url)) == 1

        first_run.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await first_run
        assert not first.is_leader
        failover = await wait_until(lambda: second.is_leader, FAILOVER_BOUND, "take-over")
        print(f"\nfailover after cancelling the leader: {time.monotonic() - cancelled:.2f} s")
        assert failover < FAILOVER_BOUND
        assert second_term.started == 1
        assert len(await lock_holders(pg_url)) == 1
    finally:
        await finish(first_run, *([second_run] if second_run else []))
    assert await lock_holders(pg_url) == []  # run() released the lock on its way out


async def test_stop_hands_over_after_the_sender_returned(pg_url: str) -> None:
    leader, follower = await leader_and_follower(pg_url)
    (first, first_term, first_run), (second, second_term, second_run) = leader, follower
    try:
        await never_both(first, second, 1.0)
        stopped = time.monotonic()
        first.stop()
        await asyncio.wait_for(first_run, 5)
        assert (first_term.started, first_term.stopped) == (1, 1)
        await wait_until(lambda: second.is_leader, FAILOVER_BOUND, "take-over")
        print(f"\nfailover after stop(): {time.monotonic() - stopped:.2f} s")
        assert second_term.started == 1
    finally:
        await finish(first_run, second_run)


async def test_a_lost_lock_connection_stops_the_leader(pg_url: str) -> None:
    leader, follower = await leader_and_follower(pg_url)
    (first, first_term, first_run), (second, second_term, second_run) = leader, follower
    try:
        await never_both(first, second, 1.0)
        [holder] = await lock_holders(pg_url)
        assert await sql(pg_url, "SELECT pg_terminate_backend(:pid)", pid=holder)
        killed = time.monotonic()

        noticed = await wait_until(lambda: first_term.stopped == 1, 5, "stop_leading() called")
        print(f"\nthe leader noticed its lost lock connection after {noticed:.2f} s")
        # Then someone leads again: the first (reconnected) or the second.
        await wait_until(
            lambda: (
                first_term.started + second_term.started == 2
                and (first.is_leader or second.is_leader)
            ),
            FAILOVER_BOUND,
            "a new leader",
        )
        print(f"a new leader after {time.monotonic() - killed:.2f} s")
        await never_both(first, second, 1.0)
        holders = await lock_holders(pg_url)
        assert len(holders) == 1
        assert holders != [holder]
    finally:
        await finish(first_run, second_run)


async def test_a_failing_sender_is_retried(pg_url: str) -> None:
    leadership = Leadership(pg_url, retry_interval=0.2, takeover_pause=0.0)
    term = Term(fail_first=True)
    run = asyncio.create_task(leadership.run(term.lead, term.stop_leading))
    try:
        await wait_until(lambda: term.started == 2 and leadership.is_leader, 5, "a second term")
        assert len(await lock_holders(pg_url)) == 1
        leadership.stop()
        await asyncio.wait_for(run, 5)
        assert term.stopped == 1
        assert await lock_holders(pg_url) == []
    finally:
        await finish(run)


# -- PostgreSQL: real processes ------------------------------------------------------------

REPLICA = """\
import asyncio
import contextlib
import os
import signal
import sys

from bot.delivery.leadership import Leadership


def note(what: str) -> None:
    with open(sys.argv[2], "a", encoding="utf-8") as log:
        log.write(f"{what} {os.getpid()}\\n")


async def main() -> None:
    stop = asyncio.Event()

    def lead():
        stop.clear()

        async def leading() -> None:
            note("LEADING")
            await stop.wait()  # a sender would drain the ledger here

        return leading()

    def stop_leading() -> None:
        note("STOPPED")
        stop.set()

    leadership = Leadership(sys.argv[1])
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, leadership.stop)
    note("STARTED")
    await leadership.run(lead, stop_leading)
    note("EXITED")


asyncio.run(main())
"""


class Replicas:
    """Bot-like processes sharing one database, each running REPLICA; their events in a log."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.script = directory / "replica.py"
        self.script.write_text(REPLICA, encoding="utf-8")
        self.log = directory / "events.log"
        self.log.touch()
        self.directory = directory
        self.processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self) -> int:
        env = os.environ | {"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        index = len(self.processes)
        with (self.directory / f"stderr-{index}.log").open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(self.script),
                self.url,
                str(self.log),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        self.processes[process.pid] = process
        return process.pid

    def events(self, what: str) -> list[int]:
        """Pids that logged ``what``, in order."""
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [int(line.split()[1]) for line in lines if line.split()[0] == what]

    async def stop_all(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                with_signal(process, signal.SIGCONT)
                with_signal(process, signal.SIGKILL)
        for process in self.processes.values():
            await process.wait()


def with_signal(process: asyncio.subprocess.Process, signum: int) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


@pytest.fixture
async def replicas(pg_url: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    group = Replicas(pg_url, tmp_path)
    try:
        yield group
    finally:
        await group.stop_all()


async def two_replicas(replicas: Replicas) -> tuple[int, int]:
    """Start two replicas; wait for one to lead; check the other does not. (leader, other)"""
    pids = {await replicas.start(), await replicas.start()}
    await wait_until(lambda: len(replicas.events("STARTED")) == 2, 30, "both replicas start")
    await wait_until(lambda: bool(replicas.events("LEADING")), 15, "a replica leads")
    await asyncio.sleep(3.0)  # more than one retry of the other
    [leader] = replicas.events("LEADING")
    [other] = pids - {leader}
    assert len(await lock_holders(replicas.url)) == 1
    return leader, other


@needs_pg
async def test_a_killed_leader_process_is_replaced_within_10_seconds(replicas: Replicas) -> None:
    leader, other = await two_replicas(replicas)

    os.kill(leader, signal.SIGKILL)
    killed = time.monotonic()
    failover = await wait_until(
        lambda: replicas.events("LEADING") == [leader, other], FAILOVER_BOUND, "take-over"
    )
    print(f"\nfailover after kill -9 of the leader process: {failover:.2f} s")
    assert time.monotonic() - killed < FAILOVER_BOUND
    assert await replicas.processes[leader].wait() == -signal.SIGKILL

    # The survivor stops cleanly on SIGTERM, releasing the lock.
    os.kill(other, signal.SIGTERM)
    assert await asyncio.wait_for(replicas.processes[other].wait(), 15) == 0
    assert replicas.events("STOPPED") == [other]
    assert replicas.events("EXITED") == [other]
    assert await lock_holders(replicas.url) == []


@needs_pg
async def test_a_frozen_leader_process_is_replaced_and_steps_down(replicas: Replicas) -> None:
    """SIGSTOP: the socket stays open, but the server ends the silent session (and lock)."""
    leader, other = await two_replicas(replicas)

    os.kill(leader, signal.SIGSTOP)
    failover = await wait_until(
        lambda: replicas.events("LEADING") == [leader, other], FAILOVER_BOUND, "take-over"
    )
    print(f"\nfailover after SIGSTOP of the leader process: {failover:.2f} s")

    # Woken up, the old leader finds its lock session gone and stops leading.
    os.kill(leader, signal.SIGCONT)
    await wait_until(lambda: replicas.events("STOPPED") == [leader], 10, "the old one steps down")
    await asyncio.sleep(3.0)
    assert replicas.events("LEADING") == [leader, other]
    holders = await lock_holders(replicas.url)
    assert len(holders) == 1


async def test_a_new_postgresql_leader_waits_one_window_before_it_sends(pg_url: str) -> None:
    # The previous leader's last second of sends counts in Telegram's window: a takeover
    # that sent at once could top the rate (seen as 26 in a second at 25/s).
    leadership = Leadership(pg_url, takeover_pause=0.5)
    term = Term()
    started = time.monotonic()
    run = asyncio.create_task(leadership.run(term.lead, term.stop_leading))
    try:
        await wait_until(lambda: leadership.is_leader, 5, "it leads")
        assert term.started == 0  # holding the lock, not sending yet
        await wait_until(lambda: term.started == 1, 5, "lead() starts")
        assert time.monotonic() - started >= 0.5
    finally:
        await finish(run)
