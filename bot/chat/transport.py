"""The delivery sender's transport over python-telegram-bot: Telegram's answers, classified."""

from __future__ import annotations

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import metrics
from bot.delivery import (
    ChatMoved,
    ChatUnreachable,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)

# BadRequest descriptions that mean the chat itself is gone, not that the message was wrong.
_GONE = ("chat not found", "user is deactivated", "group chat was deactivated", "peer_id_invalid")


class TelegramTransport:
    """Sends one message to one chat and maps Telegram's errors to delivery outcomes."""

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast
        """Pass allow_paid_broadcast: up to 1000 messages a second, at a price in Stars."""

    async def send(self, chat_id: int, text: str) -> int:
        """Send one message; return its id, or raise what the answer means for delivery."""
        try:
            with metrics.time_send():
                message = await self.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    allow_paid_broadcast=True if self.paid_broadcast else None,
                )
        except RetryAfter as error:
            metrics.count_flood_wait()
            raise RetryLater(retry_after_seconds(error)) from error
        except Forbidden as error:
            raise ChatUnreachable(error.message) from error
        except ChatMigrated as error:
            # The group became a supergroup with a new id; the old id will never work again.
            raise ChatMoved(error.new_chat_id) from error
        except BadRequest as error:
            if any(gone in error.message.lower() for gone in _GONE):
                raise ChatUnreachable(error.message) from error
            raise PermanentFailure(error.message) from error
        except NetworkError as error:  # after its subclasses: timeouts, 5xx, lost connections
            raise TransientFailure(error.message) from error
        except TelegramError as error:
            # Nothing says this message is at fault (an unexpected answer about the bot or
            # the server): worth a few more tries before giving up on it.
            raise TransientFailure(error.message) from error
        return message.message_id


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds (an int before PTB 23, a timedelta after)."""
    retry_after = error.retry_after
    return retry_after if isinstance(retry_after, int | float) else retry_after.total_seconds()
