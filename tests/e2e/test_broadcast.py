"""Update broadcasts end to end: the application in this event loop, the Bot API double over HTTP.

Subscribers are written into the store before the bot starts (fast), plus a few through real
/subscribe messages. An admin edits the digest copy and sends /reload; every active subscriber
must then get exactly one "🔔 Update:" message, within the pacing rules of the contract.
Timing figures come from the double's receive times (``Call.time``, monotonic).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram.request import RequestData

from bot.chat.context import BriefApplication
from bot.chat.transport import PooledRequest
from bot.delivery.limiter import PER_CHAT_INTERVAL
from bot.digest import load_digest
from bot.store import BroadcastProgress
from tests.botapi import BotApiDouble, Fault
from tests.broadcast_helpers import (
    ADMIN,
    EDIT,
    SECOND_EDIT,
    UPDATE_PREFIX,
    Stats,
    add_subscribers,
    broadcast_settings,
    database_url,
    delivered_times,
    ledger,
    max_in_window,
    notified,
    parse_stats,
    reload,
    sender_of,
    stats,
    update_calls,
    update_counts,
    updates,
    window_and_rate,
)
from tests.conftest import EditDigest
from tests.e2e import converse, polling
from tests.postgres import open_store

GROUP = -100777888
GROUP_MEMBER = 424242  # who speaks in a group by default in the double


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


async def progress(application: BriefApplication) -> BroadcastProgress:
    latest = await application.bot_data.store.ledger.latest_broadcast()
    assert latest is not None
    return latest


async def settled(application: BriefApplication, within: float = 12.0) -> BroadcastProgress:
    """Wait until the newest broadcast has no delivery left open (pending or sending)."""
    deadline = time.monotonic() + within
    while True:
        latest = await progress(application)
        if latest.pending == 0 and latest.sending == 0:
            return latest
        assert time.monotonic() < deadline, f"broadcast not settled: {latest}"
        await asyncio.sleep(0.05)


async def publish(
    api: BotApiDouble,
    application: BriefApplication,
    edit_digest: EditDigest,
    edit: tuple[str, str],
    *,
    told: Sequence[int],
    reached: Sequence[int],
    each: int = 1,
) -> Stats:
    """Make ``edit``, /reload (which must say it tells ``told``), wait until each chat of
    ``reached`` has ``each`` updates and the broadcast has settled: the admin's /stats."""
    edit_digest(*edit)
    assert notified(await reload(api)) == len(told)
    await api.wait_for_async(
        lambda double: all(len(updates(double, c)) >= each for c in reached), timeout=10
    )
    await settled(application)
    return parse_stats(await stats(api))


@asynccontextmanager
async def reloaded(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest, rate: float
) -> AsyncIterator[BriefApplication]:
    """A bot broadcasting at ``rate`` whose admin has just made :data:`EDIT` and sent /reload:
    its broadcast under way."""
    async with polling(api, broadcast_settings(api, database, seeds_copy, rate)) as application:
        edit_digest(*EDIT)
        await reload(api)
        yield application


async def active_among(application: BriefApplication, chats: list[int]) -> list[int]:
    """The chats among ``chats`` whose subscription is active."""
    store = application.bot_data.store
    active = []
    for chat in chats:
        subscription = await store.subscriptions.subscription(chat)
        if subscription is not None and subscription.active:
            active.append(chat)
    return active


async def test_every_active_subscriber_gets_one_update_and_nobody_else(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    stored = list(range(1001, 1011))
    await add_subscribers(database_url(database), stored)
    by_command, leaver, stranger = [2001, 2002], 2003, 3001
    api.chat_admins[GROUP] = {GROUP_MEMBER}
    async with polling(api, broadcast_settings(api, database, seeds_copy, 50)) as application:
        for chat in [*by_command, leaver]:
            [subscribed] = await converse(api, chat, "/subscribe")
            assert subscribed.visible_text.startswith("✅ Subscribed.")
        [group_subscribed] = await converse(api, GROUP, "/subscribe", chat_type="supergroup")
        assert group_subscribed.visible_text.startswith("✅ Subscribed.")
        await converse(api, leaver, "/unsubscribe")
        await converse(api, stored[0], "/unsubscribe")
        await converse(api, stranger, "/start")
        active = [*stored[1:], *by_command, GROUP]
        silent = [stored[0], leaver, stranger, ADMIN]

        edit_digest(*EDIT)
        published = await reload(api)
        assert notified(published) == len(active)
        await api.wait_for_async(lambda d: all(updates(d, chat) for chat in active), timeout=10)
        final = await settled(application)
        assert (final.recipients, final.sent) == (len(active), len(active))
        counts = update_counts(api, active + silent)
        assert {chat: counts[chat] for chat in active} == dict.fromkeys(active, 1)
        assert {chat: counts[chat] for chat in silent} == dict.fromkeys(silent, 0)
        assert sorted(c.params["chat_id"] for c in update_calls(api)) == sorted(active)
        [update] = updates(api, active[0])
        assert "Quotes" in update.visible_text  # what changed: a quote's context
        assert update.visible_text.count(UPDATE_PREFIX) == 1

        sent_before = len(update_calls(api))
        unchanged = await reload(api)
        assert unchanged.startswith("No changes")
        await asyncio.sleep(1.0)  # the sender would have started within milliseconds
        assert len(update_calls(api)) == sent_before
        assert (await progress(application)).broadcast_id == final.broadcast_id


async def test_429_pauses_every_send_for_retry_after_and_the_chat_gets_its_update_once(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(1101, 1121))
    limited = subscribers[5]  # not at either end, whichever order the ledger uses
    retry_after = 2
    await add_subscribers(database_url(database), subscribers)
    # At 10 messages/s a slot is ~100 ms away from the next: no send is in flight, acquired
    # before the 429 was seen, when the 429 arrives.
    async with polling(api, broadcast_settings(api, database, seeds_copy, 10)) as application:
        api.inject(
            Fault(method="sendMessage", chat_id=limited, status=429, retry_after=retry_after)
        )
        edit_digest(*EDIT)
        await reload(api)
        await api.wait_for_async(lambda d: all(updates(d, c) for c in subscribers), timeout=12)
        await settled(application)

    attempts = update_calls(api, [limited])
    assert [c.response_status for c in attempts] == [429, 200]
    refused_at = attempts[0].time
    quiet_until = refused_at + retry_after
    during_pause = [c for c in update_calls(api, subscribers) if refused_at < c.time < quiet_until]
    assert during_pause == [], [(c.params["chat_id"], c.time - refused_at) for c in during_pause]
    after_pause = [c for c in update_calls(api, subscribers) if c.time >= quiet_until]
    # Others were still waiting when the 429 came: the pause held them, not just the chat.
    assert any(c.params["chat_id"] != limited for c in after_pause)
    assert attempts[1].time >= quiet_until
    assert update_counts(api, subscribers) == dict.fromkeys(subscribers, 1)
    first_after = min(c.time for c in after_pause)
    print(
        f"\n429: retry_after={retry_after} s; first send after it came "
        f"{first_after - refused_at:.3f} s later; {len(after_pause)} sends after the pause"
    )


async def test_blocked_and_vanished_chats_go_inactive_and_are_never_retried(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(1201, 1213))
    blocked = subscribers[2:4]
    vanished = subscribers[7:8]
    refusing = [*blocked, *vanished]
    served = [chat for chat in subscribers if chat not in refusing]
    await add_subscribers(database_url(database), subscribers)
    for chat in blocked:
        api.inject(Fault(method="sendMessage", chat_id=chat, status=403, times=-1))
    for chat in vanished:
        api.inject(
            Fault(
                method="sendMessage",
                chat_id=chat,
                status=400,
                description="Bad Request: chat not found",
                times=-1,
            )
        )
    async with polling(api, broadcast_settings(api, database, seeds_copy, 50)) as application:
        first = await publish(api, application, edit_digest, EDIT, told=subscribers, reached=served)
        assert (first.active, first.inactive) == (len(served), len(refusing))
        assert (first.recipients, first.sent, first.pending) == (len(subscribers), len(served), 0)
        assert (first.blocked, first.failed) == (len(refusing), 0)

        # A second update goes to the others only, and nobody refusing is tried again.
        second = await publish(
            api, application, edit_digest, SECOND_EDIT, told=served, reached=served, each=2
        )
        assert (second.recipients, second.sent, second.blocked) == (len(served), len(served), 0)
        assert (second.active, second.inactive) == (len(served), len(refusing))

    for chat in refusing:
        assert [c.response_status for c in update_calls(api, [chat])] in ([403], [400]), chat
        assert updates(api, chat) == []
    assert update_counts(api, served) == dict.fromkeys(served, 2)


async def test_server_errors_are_retried_with_backoff_and_given_up_after_max_attempts(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(1301, 1309))
    flaky, proxy_page, down = subscribers[1], subscribers[3], subscribers[5]
    healthy = [chat for chat in subscribers if chat not in (flaky, proxy_page, down)]
    await add_subscribers(database_url(database), subscribers)
    api.inject(Fault(method="sendMessage", chat_id=flaky, status=502, times=2))
    api.inject(
        Fault(
            method="sendMessage",
            chat_id=proxy_page,
            status=502,
            raw_body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            times=1,
        )
    )
    api.inject(Fault(method="sendMessage", chat_id=down, status=500, times=-1))

    # Fewer attempts than the default, so the hopeless chat is given up within the test; the
    # backoff stays as shipped: its second step (2 s) is longer than the per-chat interval,
    # so the schedule below can only come from the backoff.
    def fewer_attempts(application: BriefApplication) -> None:
        sender = sender_of(application)
        sender.policy = dataclasses.replace(sender.policy, max_attempts=3)

    async with polling(
        api, broadcast_settings(api, database, seeds_copy, 50), configure=fewer_attempts
    ) as application:
        policy = sender_of(application).policy
        edit_digest(*EDIT)
        await reload(api)
        await settled(application, within=14)
        final = parse_stats(await stats(api))

    flaky_calls = update_calls(api, [flaky])
    assert [c.response_status for c in flaky_calls] == [502, 502, 200]
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(flaky_calls)]
    assert gaps[0] >= policy.backoff(0)
    assert gaps[1] >= policy.backoff(1) > PER_CHAT_INTERVAL * 1.5
    assert [c.response_status for c in update_calls(api, [proxy_page])] == [502, 200]
    down_calls = update_calls(api, [down])
    assert [c.response_status for c in down_calls] == [500] * policy.max_attempts
    assert updates(api, down) == []
    assert update_counts(api, [*healthy, flaky, proxy_page]) == dict.fromkeys(
        [*healthy, flaky, proxy_page], 1
    )
    assert (final.sent, final.failed, final.blocked, final.pending) == (
        len(subscribers) - 1,
        1,
        0,
        0,
    )
    assert (final.active, final.inactive) == (len(subscribers), 0)  # a 5xx is not a block
    print(f"\n502 retries of one chat came {', '.join(f'{gap:.2f}' for gap in gaps)} s apart")


async def test_slow_answers_do_not_stall_the_broadcast_or_duplicate_it(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(1401, 1431))
    slow = [subscribers[3], subscribers[10], subscribers[17]]
    delay = 1.0
    await add_subscribers(database_url(database), subscribers)
    for chat in slow:
        api.inject(Fault(method="sendMessage", chat_id=chat, status=200, delay=delay))
    async with reloaded(api, database, seeds_copy, edit_digest, 25) as application:
        await api.wait_for_async(lambda d: all(updates(d, c) for c in subscribers), timeout=12)
        await settled(application)
    assert update_counts(api, subscribers) == dict.fromkeys(subscribers, 1)
    assert all(len(update_calls(api, [chat])) == 1 for chat in slow)  # no retry, no duplicate
    first_slow = min(c.time for c in update_calls(api, slow))
    meanwhile = [
        c
        for c in update_calls(api, subscribers)
        if c.params["chat_id"] not in slow and first_slow < c.time < first_slow + delay
    ]
    assert meanwhile, "the broadcast waited for a slow answer instead of going on"


async def test_the_send_rate_never_exceeds_the_setting(
    api: BotApiDouble,
    database: Path,
    seeds_copy: Path,
    edit_digest: EditDigest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rate, count = 20, 60
    subscribers = await add_subscribers(database_url(database), range(1501, 1501 + count))
    # When each update left the bot's HTTP layer: what the pacing decides. The double's
    # arrival times add the harness's jitter on top (its threads share this process with
    # the bot): on a slow VM, 30 ms that put 21 arrivals in one second at 20/s.
    left: list[float] = []
    send = PooledRequest.do_request

    async def timed(self: PooledRequest, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        data = args[1] if len(args) > 1 else kwargs.get("request_data")
        to = data.parameters.get("chat_id") if isinstance(data, RequestData) else None
        if url.endswith("/sendMessage") and to in subscribers:
            left.append(time.monotonic())
        return await send(self, url, *args, **kwargs)

    monkeypatch.setattr(PooledRequest, "do_request", timed)
    async with reloaded(api, database, seeds_copy, edit_digest, rate) as application:
        await api.wait_for_async(
            lambda d: all(updates(d, c) for c in subscribers), timeout=count / rate + 6
        )
        await settled(application)
    assert len(delivered_times(api, subscribers)) == count == len(left)
    busiest, achieved = window_and_rate(left)
    arrived, _ = window_and_rate(delivered_times(api, subscribers))
    print(
        f"\nrate: {count} subscribers, setting {rate}/s, busiest 1-s window {busiest} "
        f"({arrived} arrived at the double), achieved {achieved:.2f}/s "
        f"({achieved / rate:.1%} of the setting)"
    )
    assert busiest <= rate
    assert 0.8 * rate <= achieved <= rate


async def test_one_chat_gets_at_most_one_message_per_second(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = await add_subscribers(database_url(database), range(1601, 1606))
    async with reloaded(api, database, seeds_copy, edit_digest, 50) as application:
        await api.wait_for_async(lambda d: all(updates(d, c) for c in subscribers), timeout=5)
        edit_digest(*SECOND_EDIT)
        second = await reload(api)
        assert notified(second) == len(subscribers)
        second_published = max(
            c.time for c in api.calls_to("sendMessage") if c.params.get("chat_id") == ADMIN
        )
        await api.wait_for_async(
            lambda d: all(len(updates(d, c)) == 2 for c in subscribers), timeout=8
        )
        await settled(application)
    gaps = {}
    for chat in subscribers:
        first, later = (c.time for c in update_calls(api, [chat]))
        gaps[chat] = later - first
    # The second broadcast existed less than a second after some chat's first update: only
    # the per-chat limit can have kept its second update back.
    first_updates = [update_calls(api, [chat])[0].time for chat in subscribers]
    assert any(second_published - first < PER_CHAT_INTERVAL for first in first_updates)
    print(f"\nper chat: gaps between the two updates {sorted(round(g, 3) for g in gaps.values())}")
    assert all(gap >= PER_CHAT_INTERVAL for gap in gaps.values()), gaps
    assert update_counts(api, subscribers) == dict.fromkeys(subscribers, 2)


async def test_a_chat_that_blocked_the_bot_gets_no_more_updates(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = list(range(1701, 1707))
    blocker = subscribers[2]
    api.chat_admins[GROUP] = {GROUP_MEMBER}
    await add_subscribers(database_url(database), subscribers)
    async with polling(api, broadcast_settings(api, database, seeds_copy, 50)) as application:
        await converse(api, GROUP, "/subscribe", chat_type="supergroup")
        api.bot_membership_changed(blocker, "kicked")
        api.bot_membership_changed(GROUP, "left", chat_type="supergroup")
        gone = [blocker, GROUP]
        deadline = time.monotonic() + 5
        while await active_among(application, gone):
            assert time.monotonic() < deadline, "the membership changes were not handled"
            await asyncio.sleep(0.05)

        served = [chat for chat in subscribers if chat != blocker]
        after = await publish(api, application, edit_digest, EDIT, told=served, reached=served)
    assert (after.active, after.inactive) == (len(served), len(gone))
    assert (after.recipients, after.sent, after.blocked) == (len(served), len(served), 0)
    assert update_calls(api, gone) == []
    assert update_counts(api, served) == dict.fromkeys(served, 1)


async def test_a_chat_that_unsubscribes_during_a_broadcast_gets_nothing_more(
    api: BotApiDouble, database: Path, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    subscribers = await add_subscribers(database_url(database), range(1801, 1831))
    async with reloaded(api, database, seeds_copy, edit_digest, 10) as application:
        await api.wait_for_async(lambda d: len(update_calls(d)) >= 3, timeout=5)
        # The chat the sender will come to last, by the ledger's order.
        last = ledger(database)[-1][1]
        assert updates(api, last) == []
        [reply] = await converse(api, last, "/unsubscribe")
        assert reply.visible_text.startswith("Unsubscribed")
        await settled(application)
    assert updates(api, last) == [], "an update reached a chat after it unsubscribed"
    others = [chat for chat in subscribers if chat != last]
    assert update_counts(api, others) == dict.fromkeys(others, 1)


async def test_an_update_in_two_parts_keeps_both_rate_limits(
    api: BotApiDouble, database: Path, seeds_copy: Path
) -> None:
    # An update longer than Telegram's 4096 characters is split (Renderer.messages); here the
    # ledger holds such a broadcast, written as /reload would, and the bot resumes it at start.
    rate = 10
    subscribers = await add_subscribers(database_url(database), range(1901, 1921))
    digest = load_digest(seeds_copy)
    store = await open_store(database_url(database))
    try:
        publication = await store.versions.publish(
            fingerprint=digest.fingerprint,
            digest_yaml=digest.digest_text,
            article_text=digest.article.text,
            published_by=ADMIN,
            reason="reload",
            file_fingerprint=digest.fingerprint,
            announcement=[f"{UPDATE_PREFIX} the first part", "… and the second part"],
        )
    finally:
        await store.close()
    assert publication.recipients == len(subscribers)
    async with polling(api, broadcast_settings(api, database, seeds_copy, rate)) as application:
        await api.wait_for_async(
            lambda d: all(len(d.messages(c)) == 2 for c in subscribers), timeout=10
        )
        await settled(application)
    sends = [
        c
        for c in api.calls_to("sendMessage")
        if c.params.get("chat_id") in subscribers and c.response_status == 200
    ]
    assert len(sends) == 2 * len(subscribers)
    gaps = {}
    for chat in subscribers:
        first, second = sorted(c.time for c in sends if c.params["chat_id"] == chat)
        gaps[chat] = second - first
    busiest = max_in_window([c.time for c in sends])
    print(
        f"\ntwo-part update: busiest 1-s window {busiest} at {rate}/s; smallest per-chat gap "
        f"{min(gaps.values()):.3f} s"
    )
    assert busiest <= rate
    assert min(gaps.values()) >= PER_CHAT_INTERVAL
