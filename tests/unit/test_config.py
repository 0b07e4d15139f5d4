"""Settings: environment variables with the BOT_ prefix, and errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import DEFAULT_DIGEST_PATH
from bot.config import SettingsError, load_settings
from tests import REPO_ROOT

FAKE_TOKEN = "123456:TEST-TOKEN-not-real-000000000000000"  # the shape of a real one


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
            "BOT_API_BASE_URL: must start with http:// or https://",
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


TOKEN_SHAPE_LINE = (
    "BOT_TOKEN: does not look like a bot token from @BotFather "
    "(the bot's id in digits, a colon, then 35 letters, digits, _ or -)"
)


@pytest.mark.parametrize(
    "secret",
    [
        "not-a-token-but-secret-anyway",
        "12345:short",  # digits, a colon, letters: but a real secret part is 35 characters
        FAKE_TOKEN + "x",
        FAKE_TOKEN[:-1],
        "123456:TEST-TOKEN-not-real-00000000000000/",
        ":TEST-TOKEN-not-real-000000000000000",
        "bot123456:TEST-TOKEN-not-real-000000000000000",
    ],
)
def test_malformed_token_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", secret)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.lines == [TOKEN_SHAPE_LINE]
    assert secret.rpartition(":")[2] not in str(caught.value)  # the secret part, or all


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_token_is_not_set(monkeypatch: pytest.MonkeyPatch, empty: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", empty)
    assert load_settings().token is None


def test_the_env_example_as_copied_is_usable(tmp_path: Path) -> None:
    # The README says `cp .env.example .env`; nothing in it may stop `console` or `check`.
    example = REPO_ROOT / ".env.example"
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings()
    assert settings.token is None
    assert settings.mode == "polling"


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


# -- webhook mode -------------------------------------------------------------------------

GOOD_SECRET = "Good_secret-123"
BAD_SECRET = "not/a good:secret"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, []),
        ({"BOT_MODE": "polling", "BOT_WEBHOOK_URL": "", "BOT_WEBHOOK_SECRET": ""}, []),
        ({"BOT_WEBHOOK_URL": None}, ["BOT_WEBHOOK_URL: required when BOT_MODE=webhook"]),
        ({"BOT_WEBHOOK_URL": ""}, ["BOT_WEBHOOK_URL: required when BOT_MODE=webhook"]),
        ({"BOT_WEBHOOK_SECRET": None}, ["BOT_WEBHOOK_SECRET: required when BOT_MODE=webhook"]),
        ({"BOT_WEBHOOK_SECRET": ""}, ["BOT_WEBHOOK_SECRET: required"]),
        ({"BOT_WEBHOOK_SECRET": BAD_SECRET}, ["BOT_WEBHOOK_SECRET: must be 1-256"]),
        ({"BOT_WEBHOOK_SECRET": "a" * 257}, ["BOT_WEBHOOK_SECRET: must be 1-256"]),
        (
            {"BOT_WEBHOOK_URL": "http://bot.example.org/telegram"},
            ["BOT_WEBHOOK_URL: must use https"],
        ),
        (
            {"BOT_WEBHOOK_URL": "ftp://bot.example.org/telegram"},
            ["BOT_WEBHOOK_URL: must be an https"],
        ),
        ({"BOT_WEBHOOK_URL": "bot.example.org/telegram"}, ["BOT_WEBHOOK_URL: must be an https"]),
        (
            {"BOT_WEBHOOK_URL": "https://bot.example.org:port/"},
            ["BOT_WEBHOOK_URL: not a valid URL"],
        ),
        ({"BOT_WEBHOOK_URL": "https://bot.example.org/healthz"}, ["BOT_WEBHOOK_URL: its path"]),
        ({"BOT_WEBHOOK_URL": "http://127.0.0.1:8443/telegram"}, []),
        ({"BOT_WEBHOOK_URL": "http://localhost:8443/hook"}, []),
        (
            {"BOT_WEBHOOK_URL": None, "BOT_WEBHOOK_SECRET": BAD_SECRET},
            ["BOT_WEBHOOK_URL: required", "BOT_WEBHOOK_SECRET: must be"],
        ),
    ],
)
def test_webhook_mode_settings_are_checked_with_the_others(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str | None], expected: list[str]
) -> None:
    valid: dict[str, str | None] = {
        "BOT_MODE": "webhook",
        "BOT_WEBHOOK_URL": "https://bot.example.org/telegram",
        "BOT_WEBHOOK_SECRET": GOOD_SECRET,
    }
    environment = valid | values
    for name, value in environment.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    if not expected:
        load_settings()
        return
    with pytest.raises(SettingsError) as caught:
        load_settings()
    problems = caught.value.lines
    assert len(problems) == len(expected), problems
    for line, start in zip(problems, expected, strict=True):
        assert line.startswith(start), line
    text = str(caught.value)
    for secret in (BAD_SECRET, "a" * 257, GOOD_SECRET, "not/a", "secret-123"):
        assert secret not in text
