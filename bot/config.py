"""Settings, read from ``BOT_*`` environment variables and a ``.env`` file in the working
directory (pydantic-settings). ``.env.example`` lists them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from telegram.constants import FloodLimit

from bot import DEFAULT_DIGEST_PATH

# As @BotFather issues them: the bot's id, a colon, then 35 characters of a URL-safe alphabet.
_TOKEN_SHAPE: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{35}")
# Telegram's rule for setWebhook's secret_token.
_WEBHOOK_SECRET_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram posts only to https; plain http is allowed to these, for tests and local proxies.
_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_WEBHOOK_PATH: Final = "/telegram"
HEALTH_PATH: Final = "/healthz"
METRICS_PATH: Final = "/metrics"
DEFAULT_PAGE_PATH: Final = "/story"
"""Where the story page is served when ``BOT_WEBAPP_URL`` has no path."""
FREE_BROADCAST_RATE: Final = int(FloodLimit.MESSAGES_PER_SECOND)
"""Messages per second Telegram allows a bot without paid broadcasts (30)."""
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_database_url() -> str:
    """An SQLite file under ``./data/`` of the working directory."""
    return f"sqlite+aiosqlite:///{Path('data/story-brief.sqlite3').resolve()}"


class Settings(BaseSettings):
    """Everything an operator can set; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    digest_path: Path = DEFAULT_DIGEST_PATH
    database_url: str = Field(default_factory=default_database_url)
    broadcast_rate: float = Field(default=25, gt=0, le=int(FloodLimit.PAID_MESSAGES_PER_SECOND))
    paid_broadcast: bool = False
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"
    webapp_url: str | None = None
    """The story page's public https address; when set, the process serves the page."""
    concurrent_updates: int = Field(default=256, ge=1, le=10_000)
    """Updates handled at once, across chats; each chat's are handled in order."""

    @field_validator("token", "webhook_secret", "webapp_url", mode="before")
    @classmethod
    def _empty_is_not_set(cls, value: Any) -> Any:
        # `.env.example` copied as it is holds `BOT_TOKEN=`: that means "not set", which
        # only `run` minds, not "a token that is wrong".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        # The message must not echo the value: it is a secret, even when malformed.
        if token is not None and not _TOKEN_SHAPE.fullmatch(token.get_secret_value()):
            raise ValueError(
                "does not look like a bot token from @BotFather "
                "(the bot's id in digits, a colon, then 35 letters, digits, _ or -)"
            )
        return token

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        """Accept ``1,2`` as well as the JSON list ``[1, 2]``."""
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _rate_within_telegram_limits(self) -> Settings:
        # Above about 30 messages per second Telegram answers 429 unless the bot pays for
        # the broadcast (allow_paid_broadcast, up to 1000 per second).
        if self.broadcast_rate > FREE_BROADCAST_RATE and not self.paid_broadcast:
            raise ValueError(
                f"BOT_BROADCAST_RATE above {FREE_BROADCAST_RATE} needs BOT_PAID_BROADCAST=true"
            )
        return self

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        """In webhook mode, an address Telegram can post to and a secret it can send."""
        if self.mode == "webhook":
            problems = _webhook_problems(self.webhook_url, self.webhook_secret)
            if problems:
                # One error for them all (a validator raises once); load_settings splits it.
                raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _webapp_address(self) -> Settings:
        """The story page: an https address (http only on loopback, for tests), and a path
        of its own beside the webhook's, /healthz and /metrics."""
        if self.webapp_url:
            problems = _webapp_url_problems(self.webapp_url, self.webhook_url)
            if problems:
                raise ValueError("\n".join(problems))
        return self

    @property
    def webapp_path(self) -> str:
        """Where the process serves the story page: the URL's path, or ``/story``."""
        return page_path(self.webapp_url or "")

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("digest_path")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        """Relative paths are taken from the working directory, once, at start."""
        return path.expanduser().resolve()


def _webhook_problems(url: str | None, secret: SecretStr | None) -> list[str]:
    """What keeps webhook mode from starting, one line per problem, naming the variable.

    The secret is never quoted, whole or in part.
    """
    problems = (
        _webhook_url_problems(url)
        if url
        else [
            "BOT_WEBHOOK_URL: required when BOT_MODE=webhook "
            "(the public https:// address Telegram posts updates to)"
        ]
    )
    if secret is None or not secret.get_secret_value():
        problems.append(
            "BOT_WEBHOOK_SECRET: required when BOT_MODE=webhook "
            "(1-256 characters: A-Z, a-z, 0-9, _ and -)"
        )
    elif not _WEBHOOK_SECRET_SHAPE.fullmatch(secret.get_secret_value()):
        problems.append(
            "BOT_WEBHOOK_SECRET: must be 1-256 characters of A-Z, a-z, 0-9, _ and - "
            "(Telegram's rule for secret_token)"
        )
    return problems


def _split_url(url: str) -> tuple[SplitResult, str] | None:
    """The URL's parts and its host name ("" for none); None when it is not a valid URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        return parts, parts.hostname or ""
    except ValueError:
        return None


def _webhook_url_problems(url: str) -> list[str]:
    split = _split_url(url)
    if split is None:
        return ["BOT_WEBHOOK_URL: not a valid URL"]
    parts, host = split
    if parts.scheme not in ("https", "http") or not host:
        return ["BOT_WEBHOOK_URL: must be an https:// URL with a host name"]
    problems = []
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        problems.append(
            "BOT_WEBHOOK_URL: must use https:// (Telegram posts only to https; "
            "http is allowed for 127.0.0.1 and localhost, for tests)"
        )
    if webhook_path(url) in (HEALTH_PATH, METRICS_PATH):
        problems.append(
            f"BOT_WEBHOOK_URL: its path cannot be {HEALTH_PATH} or {METRICS_PATH}, "
            "which the bot serves itself"
        )
    return problems


def _webapp_url_problems(url: str, webhook_url: str | None) -> list[str]:
    split = _split_url(url)
    if split is None:
        return ["BOT_WEBAPP_URL: not a valid URL"]
    parts, host = split
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        pass  # a page on this machine, for tests and trying it out
    elif parts.scheme != "https" or not host:
        return [
            "BOT_WEBAPP_URL: must be an https:// URL with a host name "
            "(Telegram opens Mini Apps only over https)"
        ]
    path = page_path(url)
    taken = {HEALTH_PATH, METRICS_PATH} | ({webhook_path(webhook_url)} if webhook_url else set())
    if path in taken:
        return [
            f"BOT_WEBAPP_URL: its path cannot be {path}, which the bot serves otherwise; "
            f"give it a path of its own, such as {DEFAULT_PAGE_PATH}"
        ]
    return []


def page_path(url: str) -> str:
    """The story page's path: the URL's, or ``/story`` when the URL has none."""
    path = urlsplit(url).path.rstrip("/")
    return path or DEFAULT_PAGE_PATH


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the URL's, or ``/telegram`` when the URL has none."""
    path = urlsplit(url).path
    return path if path not in ("", "/") else DEFAULT_WEBHOOK_PATH


class SettingsError(Exception):
    """Settings that cannot be used; each line names the variable at fault."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into lines that never echo a value."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for detail in error.errors(include_input=False, include_url=False):
            # "Value error, " is pydantic's word for our own validators' messages: noise here.
            message = detail["msg"].removeprefix("Value error, ")
            if detail["loc"]:
                lines.append(f"BOT_{str(detail['loc'][0]).upper()}: {message}")
            else:  # a rule across settings: its lines name the variables themselves
                lines.extend(message.splitlines())
        raise SettingsError(lines) from None
