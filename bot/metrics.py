"""Prometheus metrics of the bot (Telegram-free, so the delivery sender may use them too).

Everything lives in :data:`REGISTRY`, not in prometheus-client's global registry: tests build
the application many times in one process, and ``GET /metrics`` (see :mod:`bot.web`) exports
exactly this registry. Counters only grow for the life of the process, as Prometheus expects.

Label values come from short fixed lists (the commands the chat layer declares, the delivery
outcomes), never from what users type: one series per distinct ``/anything`` would let anyone
inflate them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.context_managers import Timer

# No ``*_created`` series beside every counter and histogram: they double the output and
# nothing here reads them. (A process-wide switch of prometheus-client; the bot owns its process.)
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY: Final = CollectorRegistry()

UpdateKind = str
"""A command's name (see :func:`declare_commands`), or "text", "callback" or "other"."""

OTHER_KINDS: Final = ("text", "callback", "other")

DeliveryOutcome = Literal["sent", "blocked", "failed", "retried", "cancelled"]
DELIVERY_OUTCOMES: Final[tuple[DeliveryOutcome, ...]] = (
    "sent",
    "blocked",
    "failed",
    "retried",
    "cancelled",
)


def _counter(name: str, documentation: str, *labels: str) -> Counter:
    """A counter of :data:`REGISTRY`, exported as ``<name>_total``."""
    return Counter(name, documentation, labels, registry=REGISTRY)


UPDATES: Final = _counter(
    "updates", "Updates received from Telegram, by command (or text, callback, other).", "command"
)
REPLIES: Final = _counter(
    "replies", "Messages the bot sent in answer to users (one per message part)."
)
DELIVERIES: Final = _counter("deliveries", "Broadcast delivery attempts, by outcome.", "outcome")
SEND_SECONDS: Final = Histogram(
    "send_seconds",
    "Latency of the Bot API sendMessage calls of broadcasts, whatever their answer.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
FLOOD_WAITS: Final = _counter(
    "flood_waits",
    "Bot API answers 429 Too Many Requests (flood control), replies and broadcasts together.",
)
WEBHOOK_REFUSED: Final = _counter(
    "webhook_refused",
    "Webhook updates answered 503 because the bot already held its full backlog.",
)

# Every label value is exported from the start (at 0): a rate() over a series that appears
# only at its first event misses that event, and dashboards show the full list at once.
# The children are looked up once here: ``labels()`` takes a lock and a dict lookup by
# label tuple, and count_update runs for every update.
_UPDATES_BY_KIND: Final = {kind: UPDATES.labels(command=kind) for kind in OTHER_KINDS}
_COMMANDS: Final[set[str]] = set()
for _outcome in DELIVERY_OUTCOMES:
    DELIVERIES.labels(outcome=_outcome)


def declare_commands(names: Iterable[str]) -> None:
    """Count updates of these commands by name, from now on; their series start at 0."""
    for name in names:
        if name in OTHER_KINDS:
            raise ValueError(f"{name!r} is a kind of update, not a command name")
        _COMMANDS.add(name)
        _UPDATES_BY_KIND.setdefault(name, UPDATES.labels(command=name))


CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The content type of :func:`exposition`."""


def update_kind(text: str | None, *, callback: bool = False) -> UpdateKind:
    """Classify an update for ``updates_total``: its message text, or whether it is a callback.

    ``"/Summary@StoryBriefBot extra"`` -> ``"summary"``; a command not declared -> ``"other"``;
    other text -> ``"text"``; no text (a photo, a membership change, ...) -> ``"other"``.
    """
    if callback:
        return "callback"
    if text is None:
        return "other"
    if not text.startswith("/"):
        return "text"
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    name = word.removeprefix("/").split("@", 1)[0].lower()
    return name if name in _COMMANDS else "other"


def count_update(kind: UpdateKind) -> None:
    """One update received; ``kind`` as :func:`update_kind` gives it (unknown kinds: "other")."""
    counter = _UPDATES_BY_KIND.get(kind)
    (counter if counter is not None else _UPDATES_BY_KIND["other"]).inc()


def count_reply(parts: int = 1) -> None:
    """``parts`` messages sent to a user in answer to an update."""
    REPLIES.inc(parts)


def count_delivery(outcome: DeliveryOutcome) -> None:
    """One broadcast delivery settled (sent, blocked, failed), put back (retried) or dropped."""
    DELIVERIES.labels(outcome=outcome).inc()


def count_flood_wait() -> None:
    """Telegram answered 429 (flood control)."""
    FLOOD_WAITS.inc()


def count_webhook_refused() -> None:
    """A webhook update refused with 503 for a full backlog (Telegram sends it again)."""
    WEBHOOK_REFUSED.inc()


def time_send() -> Timer:
    """Time one broadcast sendMessage: ``with time_send(): await transport.send(...)``.

    The time is recorded when the block exits, by an error too.
    """
    return SEND_SECONDS.time()


def exposition() -> bytes:
    """Every metric in the Prometheus text format, for ``GET /metrics``."""
    return generate_latest(REGISTRY)
