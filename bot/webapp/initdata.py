"""Telegram Mini App ``initData``: trusted only when its hash validates with the bot token.

Telegram's documented check: the data-check string is every received field but ``hash``, as
``key=value``, sorted by key, joined with line feeds; the secret key is
HMAC-SHA256(key="WebAppData", message=bot token); the data is genuine when
HMAC-SHA256(key=secret key, message=data-check string), in hex, equals ``hash``. A genuine
``initData`` older than :data:`MAX_AGE` is refused as well, so a leaked one stops working.
The standard library does all of it in a few lines; no dependency is worth adding.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

MAX_AGE = timedelta(days=1)
"""How old an ``initData`` may be (its ``auth_date``) and still be accepted."""
_WEB_APP_DATA = b"WebAppData"


class InitDataError(ValueError):
    """``initData`` that is missing, malformed, forged or stale; the message says which."""


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user a validated ``initData`` vouches for."""

    id: int
    first_name: str
    auth_date: datetime


def _secret_key(token: str) -> bytes:
    return hmac.new(_WEB_APP_DATA, token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def validate_init_data(init_data: str, token: str, *, now: datetime | None = None) -> WebAppUser:
    """The user ``init_data`` vouches for, or :class:`InitDataError` saying why not."""
    if not init_data:
        raise InitDataError("no initData: open the page from Telegram")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("initData repeats a field")
    received = fields.get("hash", "")
    expected = hmac.new(
        _secret_key(token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    # Constant time: the comparison must not tell a forger how much of the hash was right.
    if not hmac.compare_digest(expected, received):
        raise InitDataError("initData does not validate with this bot's token")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
        first_name = str(user.get("first_name", ""))
    except (KeyError, ValueError, TypeError, OverflowError):
        raise InitDataError("initData lacks a valid auth_date or user") from None
    now = now or datetime.now(UTC)
    if now - auth_date > MAX_AGE:
        raise InitDataError("initData is more than a day old: reopen the page")
    if auth_date - now > timedelta(minutes=5):
        raise InitDataError("initData is dated in the future")
    return WebAppUser(user_id, first_name, auth_date)


def sign_init_data(fields: dict[str, str], token: str) -> str:
    """``fields`` as Telegram would send them, signed with ``token`` (for tests and tools)."""
    signed = dict(fields)
    signed.pop("hash", None)
    signed["hash"] = hmac.new(
        _secret_key(token), _data_check_string(signed).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(signed)
