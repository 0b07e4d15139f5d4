"""What the benchmark suite reports: one record of figures per kind of run.

Every record is a frozen dataclass of :class:`Figures`, and its fields (with the derived
figures it names) are what the JSON report stores for a run; the runners beside the suite
(:mod:`tests.benchmarks.reply`, :mod:`tests.benchmarks.concurrency`, ...) fill them in, and
:mod:`tests.benchmarks.suite` turns them into the table. Kept together, they are the report's
schema in one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from tests.benchmarks.stats import percentile

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from tests.benchmarks.double import BenchDouble, Exchange
    from tests.benchmarks.procs import Kind
    from tests.benchmarks.reply import Load, Window


class Figures:
    """Base of a dataclass of a run's figures: :meth:`as_json` is what the report stores."""

    derived: ClassVar[tuple[str, ...]] = ()
    """Properties computed from the fields, stored in the report beside them."""

    def as_json(self) -> dict[str, Any]:
        fields = asdict(cast("DataclassInstance", self))
        return fields | {name: getattr(self, name) for name in self.derived}


# -- start and memory (tests.benchmarks.footprint) -----------------------------------------


@dataclass(frozen=True)
class StartRun(Figures):
    kind: Kind
    cold: bool
    start_seconds: float
    idle_rss: int


@dataclass(frozen=True)
class MemoryRun(Figures):
    database: str
    subscribers: int
    idle_rss: int
    """Before the /reload."""
    enqueued_rss: int
    """After the /reload's reply, while the broadcast drains."""
    peak_rss: int
    """VmHWM: the most the process ever held."""
    notified: int
    reload_seconds: float
    seed_seconds: float


# -- the reply path (tests.benchmarks.reply) -----------------------------------------------


@dataclass(frozen=True)
class Replies(Figures):
    """A bot's replies to one load at one latency: how many, how fast, and how long the
    commands waited for them (update queued to reply, in seconds)."""

    kind: Kind
    latency: float
    seconds: float
    replies: int
    replies_per_second: float
    p50: float
    p99: float
    violations: int

    @classmethod
    def counted(
        cls,
        api: BenchDouble,
        *,
        kind: Kind,
        latency: float,
        seconds: float,
        replies: int,
        latencies: Sequence[float],
        **own: Any,
    ) -> Self:
        """The figures of ``replies`` in ``seconds`` and of the commands' ``latencies``, with
        the double's count of violations; ``own``: the fields a kind of run adds."""
        return cls(
            kind=kind,
            latency=latency,
            seconds=seconds,
            replies=replies,
            replies_per_second=replies / seconds if seconds > 0 else math.nan,
            p50=percentile(latencies, 0.50),
            p99=percentile(latencies, 0.99),
            violations=len(api.violations),
            **own,
        )


@dataclass(frozen=True)
class LoadRun(Replies):
    """One bot under one closed-loop load, counted over a measured window: ``replies`` are
    those that reached the double in it."""

    users: int
    stray_replies: int

    @classmethod
    def measured(
        cls,
        window: Window,
        counted: Sequence[Exchange],
        sampled: Sequence[float],
        api: BenchDouble,
        *,
        kind: Kind,
        load: Load,
        **own: Any,
    ) -> Self:
        """The figures of ``window``: ``counted``, its replies, ``sampled``, its latencies,
        and the double's own counts; ``own``: the fields a kind of run adds."""
        return cls.counted(
            api,
            kind=kind,
            latency=load.latency,
            seconds=window.seconds,
            replies=len(counted),
            latencies=sampled,
            users=load.users,
            stray_replies=api.stray_replies,
            **own,
        )


@dataclass(frozen=True)
class ReplyRun(LoadRun):
    """One bot answering one command at a time per user."""

    samples: int
    """Commands sent in the measured window (their latencies make the percentiles)."""
    cpu_per_reply: float
    """CPU seconds the bot process used in the measured window, per reply counted."""
    unanswered: int


# -- concurrency (tests.benchmarks.concurrency) --------------------------------------------


@dataclass(frozen=True)
class PipelinedRun(LoadRun):
    """One bot, one latency, one number of users, ``depth`` commands in flight each."""

    depth: int
    cpu_share: float
    """CPU seconds of the bot over wall seconds in the window: 1.0 is one core busy."""
    ordered_replies: int
    """Replies matched to their command, whose order was checked."""
    out_of_order: int
    queued_at_stop: int
    poll_interval: float
    """Median seconds between the bot's getUpdates calls arriving at the double in the
    window: with one call at a time, each bringing at most 100 updates, it bounds the rate."""
    replies_per_poll: float


@dataclass(frozen=True)
class BurstRun(Replies):
    """``chats`` /starts queued at once, answered by one bot; ``seconds`` from the first
    update queued to the last reply."""

    derived = ("rss_above_idle",)

    chats: int
    lost: int
    idle_rss: int
    burst_rss: int
    """The most resident memory sampled from the first update to the last reply."""

    @property
    def rss_above_idle(self) -> int:
        return self.burst_rss - self.idle_rss


# -- broadcasts (tests.benchmarks.broadcast) -----------------------------------------------


@dataclass(frozen=True)
class BroadcastRun(Figures):
    """One broadcast, start to finish."""

    derived = ("achieved_ratio",)

    kind: Kind
    rate: float
    paid: bool
    latency: float
    database: str
    subscribers: int
    notified: int
    delivered: int
    """Updates the double accepted (HTTP 200)."""
    achieved: float
    """Messages per second, first to last accepted update."""
    busiest_window: int
    refused_429: int
    """Updates the double answered 429 (flood limits)."""
    other_errors: int
    lost: int
    duplicates: int
    seconds: float
    """First to last accepted update."""
    reload_seconds: float
    """From /reload to its reply (validate, diff, publish with one delivery row each)."""
    first_update_after: float
    """From the admin's /reload to the arrival of the first update."""
    violations: int
    cpu_per_message: float
    """Seconds of the bot's CPU time (all threads) per accepted update."""
    message_bytes: int
    """Length of the update's text, UTF-8 (the baseline sends as many bytes)."""

    @property
    def achieved_ratio(self) -> float:
        """Achieved over configured rate."""
        return self.achieved / self.rate


# -- content and answering (tests.benchmarks.content, tests.benchmarks.answering) ----------


@dataclass(frozen=True)
class ReloadTimes(Figures):
    database: str
    subscribers: int
    total: float
    """Median seconds of a whole /reload that publishes."""
    publish: float
    """Median seconds of its store.versions.publish (the database transaction)."""
    validate_diff_swap: float
    """Median of total - publish, reload by reload."""
    runs: int


@dataclass(frozen=True)
class ContentTimes(Figures):
    load_validate: float
    """Median seconds of load_digest (read, parse, validate, ground)."""
    validate: float
    """inspect_digest alone, as /reload calls it."""
    diff: float
    answer_engine: float
    """Building the answer engine for a digest: part of the swap."""
    render: dict[str, float] = field(default_factory=dict)
    """Median seconds to render (and split) each message template."""
    reloads: list[ReloadTimes] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerTimes(Figures):
    questions: int
    """Distinct evaluation questions, all digests together."""
    timings: int
    median: float
    """Seconds per question."""
    p99: float


# -- the story page and inline mode (tests.benchmarks.page) --------------------------------


@dataclass(frozen=True)
class PageRun(Figures):
    raw_bytes: int
    gzip_bytes: int
    gzip_by_server: bool
    """False: the server sent it uncompressed, and the gzip size was computed here."""
    browser_transferred: int
    """Chromium's transferSize for the document and its same-origin resources."""
    loads: int
    dom_content_loaded: float
    """Median seconds from navigation start to the end of DOMContentLoaded."""
    load: float
    """Median seconds from navigation start to the end of the load event."""
    load_worst: float
    refused: list[str]
    """Requests to anywhere but the page's origin and Telegram's script (none expected)."""


@dataclass(frozen=True)
class InlineRun(Figures):
    users: int
    latency: float
    seconds: float
    replies_per_second: float
    inline_per_second: float
    inline_p99: float
    inline_answered: int
    inline_unanswered: int
    violations: int


# -- the long day (tests.benchmarks.longday) -----------------------------------------------


@dataclass(frozen=True)
class LongDayRun(Figures):
    derived = ("rss_growth", "complete")

    subscribers: int
    updates: int
    """Replies counted: the updates the users sent and the bot answered."""
    seconds: float
    broadcasts: int
    notified: list[int]
    """What each /reload said it would notify."""
    broadcast_seconds: list[float]
    """From each /reload to the last update of its broadcast accepted by the double."""
    delivered_each: dict[int, int]
    """How many subscribers got how many updates (all of them ``broadcasts``: complete)."""
    at_start: Probe
    after_warmup: Probe
    at_end: Probe
    during: list[Probe]
    """Read before each broadcast after the warm-up: whether memory levels off or climbs."""
    error_lines: list[str]
    warning_lines: int
    unanswered: int
    violations: int

    @property
    def rss_growth(self) -> int:
        return self.at_end.rss - self.after_warmup.rss

    @property
    def complete(self) -> bool:
        """Every /reload notified every subscriber, and each got every update once."""
        return all(count == self.subscribers for count in self.notified) and (
            self.delivered_each == {self.broadcasts: self.subscribers}
        )


@dataclass(frozen=True)
class Probe(Figures):
    """One reading of the probed bot (:mod:`tests.benchmarks.probed_bot`): its asyncio tasks,
    open file descriptors and resident bytes."""

    tasks: int
    fds: int
    rss: int
