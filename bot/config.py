"""Settings, read from ``BOT_*`` environment variables and a ``.env`` file in the working
directory (pydantic-settings). ``.env.example`` lists them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import DEFAULT_DIGEST_PATH

_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
FREE_BROADCAST_RATE = 30
"""Messages per second Telegram allows a bot without paid broadcasts."""
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
    broadcast_rate: float = Field(default=25, gt=0, le=1000)
    paid_broadcast: bool = False
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        # The message must not echo the value: it is a secret, even when malformed.
        if token is not None and not _TOKEN_SHAPE.fullmatch(token.get_secret_value()):
            raise ValueError("does not look like a bot token (digits, a colon, then letters)")
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
            if detail["loc"]:
                lines.append(f"BOT_{str(detail['loc'][0]).upper()}: {detail['msg']}")
            else:  # a rule across settings: its message names the variables itself
                lines.append(detail["msg"].removeprefix("Value error, "))
        raise SettingsError(lines) from None
