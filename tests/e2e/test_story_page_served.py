"""The story page served by the bot process: beside polling, with its buttons in chat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.digest import Digest
from bot.webapp.initdata import sign_init_data
from tests.botapi import BotApiDouble
from tests.e2e import TEST_TOKEN, converse, settings_for
from tests.e2e.webhooks import served_bot

USER = 3003
GROUP = -100300400


@pytest.fixture
async def page(
    api: BotApiDouble, digest: Digest, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The bot polling the double, its page on a free port; stopped as SIGTERM would."""

    def settings_at(port: int) -> Settings:
        story = f"http://127.0.0.1:{port}/story"
        return settings_for(api, tmp_path / "state.sqlite3", webapp_url=story)

    async with served_bot(settings_at, digest) as (_, settings, client):
        yield client, settings


def init_data(user_id: int = USER) -> str:
    fields = {
        "user": json.dumps({"id": user_id, "first_name": "Ada"}),
        "auth_date": str(int(datetime.now(UTC).timestamp())),
    }
    return sign_init_data(fields, TEST_TOKEN)


async def test_the_page_is_served_beside_polling(
    api: BotApiDouble, digest: Digest, page: tuple[httpx.AsyncClient, Settings]
) -> None:
    client, _settings = page
    response = await client.get("/story", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert digest.document.title in response.text
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < 60 * 1024
    assert (await client.get("/healthz")).status_code == 200
    # The bot polls meanwhile: /start answers, with the page as a Mini App button.
    [welcome] = await converse(api, USER, "/start")
    [story] = [button for button in welcome.buttons() if "web_app" in button]
    assert story["web_app"]["url"].endswith("/story")


async def test_in_a_group_the_page_is_a_link_and_sections_can_be_shared(
    api: BotApiDouble, page: tuple[httpx.AsyncClient, Settings]
) -> None:
    [welcome] = await converse(api, GROUP, "/start", chat_type="supergroup")
    assert not [button for button in welcome.buttons() if "web_app" in button]
    assert [button for button in welcome.buttons() if button.get("url", "").endswith("/story")]
    [summary] = await converse(api, GROUP, "/summary", chat_type="supergroup")
    shares = [button for button in summary.buttons() if "switch_inline_query" in button]
    assert shares == [{"text": "↗️ Share", "switch_inline_query": "summary"}]


async def test_subscribing_from_the_page_is_a_subscription_in_chat(
    api: BotApiDouble, page: tuple[httpx.AsyncClient, Settings]
) -> None:
    client, _settings = page
    forged = await client.post(
        "/story/api/subscription", json={"initData": init_data() + "0", "subscribed": True}
    )
    assert forged.status_code == 401
    turned_on = await client.post(
        "/story/api/subscription", json={"initData": init_data(), "subscribed": True}
    )
    assert turned_on.json() == {"subscribed": True}
    [status] = await converse(api, USER, "/status")
    assert "not subscribed" not in status.visible_text.lower()


def test_the_page_address_is_checked_with_the_settings() -> None:
    with pytest.raises(SettingsError, match="BOT_WEBAPP_URL: must be an https"):
        load_settings(webapp_url="http://example.org/story")
    with pytest.raises(SettingsError, match="its path cannot be /healthz"):
        load_settings(webapp_url="https://example.org/healthz")
    assert load_settings(webapp_url="https://example.org").webapp_path == "/story"
    assert load_settings(webapp_url="").webapp_url is None
