"""Subscriptions, versions and the admin commands, end to end over the Bot API double."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from bot.config import Settings
from bot.digest import load_digest
from tests.botapi import BotApiDouble
from tests.conftest import EditDigest
from tests.e2e import ADMIN, polling, text_of

USER = 7002
OTHER = 7003
GROUP = -100777
QUOTE_CONTEXT = "    context: Continuing the same remarks."


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """The shared settings, the state on SQLite and (when configured) on PostgreSQL."""
    return settings.model_copy(update={"database_url": database_url})


T = TypeVar("T")


async def eventually(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 10.0
) -> T:
    """``read()`` again until ``done`` holds of what it returns (or ``within`` seconds pass).

    Updates of different chats are handled concurrently: an update's effect is waited
    for, not inferred from another chat's reply.
    """
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await read()
        if done(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


async def subscribe_and_publish_an_edit(api: BotApiDouble, edit_digest: EditDigest) -> str:
    """USER subscribes, a quote's context is edited and the admin publishes it: the reply."""
    await text_of(api, USER, "/subscribe")
    edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
    return await text_of(api, ADMIN, "/reload")


async def test_subscribe_status_unsubscribe(api: BotApiDouble, settings: Settings) -> None:
    async with polling(api, settings):
        assert (await text_of(api, USER, "/status")).startswith(
            "Subscription\nYou are not subscribed."
        )
        assert (await text_of(api, USER, "/subscribe")).startswith("✅ Subscribed.")
        assert (await text_of(api, USER, "/subscribe")).startswith("You are already subscribed.")
        status = await text_of(api, USER, "/status")
        assert "You are subscribed to updates since " in status
        assert "Version 1, published " in status
        assert (await text_of(api, USER, "/unsubscribe")).startswith(
            "Unsubscribed: no more updates."
        )
        assert (await text_of(api, USER, "/unsubscribe")).startswith("You are not subscribed, so")


async def test_group_subscription_is_for_its_administrators(
    api: BotApiDouble, settings: Settings
) -> None:
    api.chat_admins[GROUP] = {424242}  # the double's default group member is 424242
    async with polling(api, settings):
        refusal = await text_of(api, GROUP, "/subscribe", "supergroup")
        assert refusal.startswith("✅ Subscribed.")  # 424242 is an administrator
        api.chat_admins[GROUP] = set()
        refusal = await text_of(api, GROUP, "/unsubscribe@StoryBriefBot", "supergroup")
        assert (
            refusal
            == "Only this group's administrators can change its subscription. Ask one of them to send /unsubscribe@StoryBriefBot."
        )
        assert "This group is subscribed" in await text_of(api, GROUP, "/status", "supergroup")


async def test_blocking_the_bot_marks_the_chat_inactive(
    api: BotApiDouble, settings: Settings
) -> None:
    async with polling(api, settings) as application:
        await text_of(api, USER, "/subscribe")
        api.bot_membership_changed(USER, "kicked")
        # Other chats' updates may be handled before this one: wait for the change itself.
        subscription = await eventually(
            lambda: application.bot_data.store.subscriptions.subscription(USER),
            lambda found: found is not None and not found.active,
        )
        assert subscription is not None
        assert not subscription.active
        assert subscription.inactive_reason == "blocked"


async def test_admin_commands_are_refused_to_others_and_change_nothing(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
        for command in ("/reload", "/reload check", "/rollback", "/stats"):
            word = command.split()[0]
            assert (
                await text_of(api, USER, command)
                == f"Sorry, {word} is for the bot's admins only, and nothing was changed."
            )
        assert application.bot_data.library.version.id == 1
        assert "Continuing the same remarks." in await text_of(api, USER, "/quotes")


async def test_reload_check_reload_and_rollback(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        await text_of(api, USER, "/subscribe")
        assert (await text_of(api, ADMIN, "/reload")).startswith(
            "No changes: the digest file says what version 1 says."
        )

        edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
        check = await text_of(api, ADMIN, "/reload check")
        assert check.startswith(
            "🔎 Check only: the digest is valid. Applying it with /reload would publish these changes to 1 subscriber:"
        )
        assert "Quotes\n✏️ “They will not be getting released" in check
        assert "Still speaking." in check
        assert application.bot_data.library.version.id == 1
        assert len(api.messages(USER)) == 1  # nothing sent by a check

        published = await text_of(api, ADMIN, "/reload")
        assert published.startswith(
            "✅ Published version 2. 1 subscriber is being told what changed:"
        )
        [update] = (await api.wait_for_messages_async(USER, 2))[1:]
        assert update.visible_text.startswith("🔔 Update: the brief on US Homeland Security Chief")
        assert "Still speaking." in await text_of(api, USER, "/quotes")

        rolled = await text_of(api, ADMIN, "/rollback")
        assert rolled.startswith(
            "↩️ Version 1 is current again. 1 subscriber is being sent a correction:"
        )
        correction = (await api.wait_for_messages_async(USER, 4))[3]
        assert correction.visible_text.startswith("↩️ Correction:")
        assert "Continuing the same remarks." in await text_of(api, USER, "/quotes")

        assert (await text_of(api, ADMIN, "/rollback")).startswith(
            "There is no earlier version to go back to"
        )
        stats = await text_of(api, ADMIN, "/stats")
        assert "Subscribers: 1 active, 0 inactive" in stats
        assert "Current version: 1" in stats
        assert "Last broadcast (#2, correction to version 1" in stats
        assert "1 recipient: 1 sent, 0 pending, 0 blocked, 0 failed" in stats


async def test_invalid_digest_changes_nothing(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        await text_of(api, USER, "/subscribe")
        path, line = edit_digest("  - value: thousands\n", "  - value: millions\n")
        for command in ("/reload", "/reload check"):
            reply = await text_of(api, ADMIN, command)
            assert reply.startswith("❌ The digest has 1 problem")
            assert (
                f"{path}:{line}: figure-not-in-paragraph: 'millions' does not occur in paragraph 4"
                in reply
            )
        assert application.bot_data.library.version.id == 1
        assert "thousands — illegal Chinese migrants" in await text_of(api, USER, "/figures")
        assert len(api.messages(USER)) == 2  # the subscription and the figures: no update


async def test_reload_usage(api: BotApiDouble, settings: Settings) -> None:
    async with polling(api, settings):
        assert (
            await text_of(api, ADMIN, "/reload now")
            == "Send /reload to publish the edited digest file, or /reload check to only check it."
        )


async def test_admins_get_the_admin_command_menu(api: BotApiDouble, settings: Settings) -> None:
    async with polling(api, settings):
        await api.wait_for_async(
            lambda double: bool(double.commands({"type": "chat", "chat_id": ADMIN}))
        )
    public = [command["command"] for command in api.commands()]
    admin = [command["command"] for command in api.commands({"type": "chat", "chat_id": ADMIN})]
    assert "reload" not in public
    assert admin == [*public, "reload", "rollback", "stats", "unanswered"]


async def test_state_survives_a_restart_and_a_rollback_stays_in_force(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings):
        await subscribe_and_publish_an_edit(api, edit_digest)
        # The update first: a rollback before it is sent leaves nothing to correct (the
        # unsent update is replaced by none), and the subscriber would get 2 messages, not 3.
        await api.wait_for_messages_async(USER, 2)
        await text_of(api, ADMIN, "/rollback")
        await api.wait_for_messages_async(USER, 3)
    sent_before = len(api.messages(USER))

    async with polling(api, settings, load_digest(settings.digest_path)) as application:
        assert application.bot_data.library.version.id == 1  # the rollback holds
        assert "You are subscribed" in await text_of(api, USER, "/status")
        assert "Continuing the same remarks." in await text_of(api, USER, "/quotes")
    assert len(api.messages(USER)) == sent_before + 2  # the two replies, no update


async def test_a_digest_edited_while_stopped_is_published_at_start(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings):
        await text_of(api, USER, "/subscribe")
    edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
    async with polling(api, settings, load_digest(settings.digest_path)) as application:
        [update] = (await api.wait_for_messages_async(USER, 2))[1:]
        assert update.visible_text.startswith("🔔 Update:")
        assert application.bot_data.library.version.id == 2
    restarted_with = load_digest(settings.digest_path)
    async with polling(api, settings, restarted_with) as application:
        assert application.bot_data.library.version.id == 2
        # The file is what is current: served as loaded, the stored copy not parsed again.
        assert application.bot_data.digest is restarted_with
        await text_of(api, OTHER, "/help")
    assert len(api.messages(USER)) == 2


async def test_a_file_put_back_after_a_rollback_and_edited_again_is_published(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    original = settings.digest_path.read_text(encoding="utf-8")
    async with polling(api, settings):
        await subscribe_and_publish_an_edit(api, edit_digest)
        await text_of(api, ADMIN, "/rollback")  # version 1 current, the edit still on disk
    # The operator puts the file back as served (a restart with the current version in
    # the file) and later makes the edit again, deliberately: it is published this time.
    settings.digest_path.write_text(original, encoding="utf-8")
    async with polling(api, settings, load_digest(settings.digest_path)) as application:
        assert application.bot_data.library.version.id == 1
    edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
    async with polling(api, settings, load_digest(settings.digest_path)) as application:
        assert application.bot_data.library.version.id == 3  # a new version, published
        assert "Still speaking." in await text_of(api, USER, "/quotes")


async def test_admin_commands_in_a_group_are_refused_even_to_admins(
    api: BotApiDouble, settings: Settings
) -> None:
    async with polling(api, settings) as application:
        api.send_text(GROUP, "/stats", chat_type="supergroup", user_id=ADMIN)
        [refusal] = await api.wait_for_messages_async(GROUP, 1)
        assert refusal.visible_text.startswith("/stats works only in a private chat with me")
        assert application.bot_data.library.version.id == 1


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(
    api: BotApiDouble, settings: Settings
) -> None:
    old, new = -4242, -1004242
    api.chat_admins[old] = {424242}
    async with polling(api, settings) as application:
        await text_of(api, old, "/subscribe", "group")
        api.push_update(
            {
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "chat": {"id": old, "type": "group", "title": "Newsroom"},
                    "from": {"id": 424242, "is_bot": False, "first_name": "A"},
                    "migrate_to_chat_id": new,
                }
            }
        )
        moved = await eventually(
            lambda: application.bot_data.store.subscriptions.subscription(new),
            lambda found: found is not None,
        )
        assert moved is not None
        assert moved.active
        assert (await application.bot_data.store.subscriptions.subscriber_counts()).active == 1


async def test_paid_broadcasts_pass_allow_paid_broadcast_on_updates_only(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    paid = settings.model_copy(update={"broadcast_rate": 100.0, "paid_broadcast": True})
    async with polling(api, paid):
        await subscribe_and_publish_an_edit(api, edit_digest)
        [_, update] = await api.wait_for_messages_async(USER, 2)
    to_user = [
        call.params for call in api.calls_to("sendMessage") if call.params["chat_id"] == USER
    ]
    assert update.text.startswith("🔔")
    # The reply to /subscribe is an ordinary message; the update is the paid broadcast.
    assert [params.get("allow_paid_broadcast") for params in to_user] == [None, True]
