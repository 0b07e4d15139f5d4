"""Settings: environment variables with the BOT_ prefix, and errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import DEFAULT_DIGEST_PATH
from bot.config import SettingsError, load_settings

FAKE_TOKEN = "123456:TEST-TOKEN-not-real"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BOT_ variable or .env file of the developer's leaks into these tests."""
    for name in list(__import__("os").environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.token is None
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.admin_ids == frozenset()
    assert settings.digest_path == DEFAULT_DIGEST_PATH
    assert (
        settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'story-brief.sqlite3'}"
    )
    assert settings.broadcast_rate == 25
    assert settings.mode == "polling"
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("raw", "ids"), [("1,2", {1, 2}), ("[1, 2]", {1, 2}), (" 7 ", {7}), ("", set())]
)
def test_admin_ids_accept_both_forms(
    monkeypatch: pytest.MonkeyPatch, raw: str, ids: set[int]
) -> None:
    monkeypatch.setenv("BOT_ADMIN_IDS", raw)
    assert load_settings().admin_ids == ids


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={FAKE_TOKEN}\nBOT_LOG_LEVEL=debug\n", encoding="utf-8"
    )
    settings = load_settings()
    assert settings.token is not None and settings.token.get_secret_value() == FAKE_TOKEN
    assert settings.log_level == "DEBUG"


def test_relative_digest_path_is_taken_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_DIGEST_PATH", "mine/digest.yaml")
    assert load_settings().digest_path == tmp_path / "mine" / "digest.yaml"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "BOT_ADMIN_IDS",
            "alice",
            "BOT_ADMIN_IDS: Input should be a valid integer, unable to parse string as an integer",
        ),
        ("BOT_BROADCAST_RATE", "0", "BOT_BROADCAST_RATE: Input should be greater than 0"),
        ("BOT_MODE", "push", "BOT_MODE: Input should be 'polling' or 'webhook'"),
        ("BOT_PORT", "70000", "BOT_PORT: Input should be less than or equal to 65535"),
        (
            "BOT_API_BASE_URL",
            "ftp://x",
            "BOT_API_BASE_URL: Value error, must start with http:// or https://",
        ),
        (
            "BOT_LOG_LEVEL",
            "loud",
            "BOT_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.lines == [line]


def test_malformed_token_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "not-a-token-but-secret-anyway"
    monkeypatch.setenv("BOT_TOKEN", secret)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.lines == [
        "BOT_TOKEN: Value error, does not look like a bot token (digits, a colon, then letters)"
    ]
    assert secret not in str(caught.value)


def test_token_is_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", FAKE_TOKEN)
    assert FAKE_TOKEN not in repr(load_settings())


def test_a_rate_above_the_free_limit_needs_paid_broadcasts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_BROADCAST_RATE", "100")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.lines == ["BOT_BROADCAST_RATE above 30 needs BOT_PAID_BROADCAST=true"]
    monkeypatch.setenv("BOT_PAID_BROADCAST", "true")
    settings = load_settings()
    assert (settings.broadcast_rate, settings.paid_broadcast) == (100, True)
