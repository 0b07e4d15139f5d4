"""What a transport reports when a message could not be delivered (see :mod:`bot.delivery`)."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message was not delivered; the subclass says what to do about it."""


class RetryLater(DeliveryError):
    """Flood control: nothing may be sent for ``after`` seconds."""

    def __init__(self, after: float) -> None:
        super().__init__(f"flood control: retry after {after:g} s")
        self.after = after


class ChatUnreachable(DeliveryError):
    """The chat blocked the bot, removed it, or no longer exists: stop writing to it."""


class ChatMoved(DeliveryError):
    """The group became a supergroup: the same chat now has ``new_chat_id``."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"the chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class TransientFailure(DeliveryError):
    """Network trouble or a server error: the same message may go through later."""


class PermanentFailure(DeliveryError):
    """Telegram refused this message for good."""
