"""The story page and inline mode, served by a real Story Brief process.

``python -m bot`` starts with ``BOT_WEBAPP_URL`` pointing at its own loopback port (plain
http is allowed there), so in polling mode it serves the page beside the Bot API double.

* **Bytes**: the page fetched as a browser would, once without compression and once with
  ``Accept-Encoding: gzip`` (if the server sends it uncompressed, the gzip size is computed
  here at level 6 and said so); and what headless Chromium counted as transferred for the
  document and everything it loaded from the page's origin (``transferSize``), Telegram's
  own script left out.
* **Render**: headless Chromium (Debian's, through Playwright's ``executable_path``) opens
  the page in a fresh context each time, so no cache; Telegram's script is answered by a
  small stand-in and every other outside request is refused (and counted). From navigation
  start to ``DOMContentLoaded`` end and to ``load`` end, from the Navigation Timing entry;
  median and worst of ``loads``.
* **Inline answers** beside the reply path, in the same process at the same latency: a
  closed loop of users each sending a command and the next when answered (replies/s), then
  a closed loop of users each typing an inline query and the next when the bot has called
  ``answerInlineQuery`` (answers/s), for the same number of seconds.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks.databases import Database
from tests.benchmarks.double import BenchDouble, harness_gc_paused
from tests.benchmarks.figures import InlineRun, PageRun
from tests.benchmarks.procs import TOKEN, BotProcess, spawn
from tests.benchmarks.reply import FIRST_USER, command_script, paragraph_count
from tests.benchmarks.stats import median, percentile

TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
TELEGRAM_STUB = (
    "window.Telegram={WebApp:{initData:'',initDataUnsafe:{},themeParams:{},"
    "colorScheme:'light',ready:function(){},expand:function(){},onEvent:function(){},"
    "BackButton:{show:function(){},hide:function(){},onClick:function(){}}}};"
)
"""What the page uses of Telegram's script, outside Telegram (no initData: read-only)."""
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INLINE_QUERIES = ("", "39,000", "what happened", "who said it", "quotes", "figures")
"""What the inline users type, in turn: the sections, a figure, questions, a word."""
SERVE_TIMEOUT = 30.0
INLINE_FIRST_USER = 6_000_001


class InlineDouble(BenchDouble):
    """The double with closed-loop inline users: each answer brings that user's next query."""

    def __init__(self, token: str, *, latency: float = 0.0) -> None:
        super().__init__(token, latency=latency)
        self._inline_until = 0.0
        self._inline_turns: dict[int, int] = {}
        self._inline_waiting: dict[str, tuple[int, float]] = {}
        self.inline_answers_at: list[tuple[float, float]] = []
        """(asked, answered) of every answered query, ``time.monotonic()``."""

    def __enter__(self) -> InlineDouble:
        self.start()
        return self

    def start_inline(self, users: Sequence[int], until: float) -> None:
        with self._cond:
            self._inline_until = until
            for user in users:
                self._inline_turns[user] = 0
                self._ask_inline(user)

    def inline_outstanding(self) -> int:
        with self._cond:
            return len(self._inline_waiting)

    def _ask_inline(self, user: int) -> None:
        # Called with self._cond held.
        turn = self._inline_turns[user]
        self._inline_turns[user] = turn + 1
        query = INLINE_QUERIES[(user + turn) % len(INLINE_QUERIES)]
        self._inline_waiting[self.send_inline_query(user, query)] = (user, time.monotonic())

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        answered = super()._answer_inline_query(params)
        received = float(getattr(self._local, "received", time.monotonic()))
        with self._cond:
            waiting = self._inline_waiting.pop(str(params["inline_query_id"]), None)
            if waiting is not None:
                user, asked = waiting
                self.inline_answers_at.append((asked, received))
                if time.monotonic() < self._inline_until:
                    self._ask_inline(user)
        return answered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fetch(url: str, encoding: str) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), str(response.headers.get("Content-Encoding", ""))


def _wait_serving(bot: BotProcess, url: str) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT
    while True:
        try:
            _fetch(url, "identity")
            return
        except OSError:
            if bot.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the page was not served:\n{bot.stderr()[-3000:]}") from None
            time.sleep(0.05)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _render(url: str, loads: int) -> tuple[list[float], list[float], int, list[str]]:
    """DOMContentLoaded and load times of ``loads`` cold opens; bytes; refused requests."""
    from playwright.sync_api import Route, sync_playwright

    executable = chromium()
    if executable is None:
        raise RuntimeError("the page benchmark needs Chromium (Debian's chromium package)")
    origin = url.rsplit("/", 1)[0]
    refused: list[str] = []

    def route(route: Route) -> None:
        if route.request.url == TELEGRAM_SCRIPT:
            route.fulfill(body=TELEGRAM_STUB, content_type="application/javascript")
        elif route.request.url.startswith(origin):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    ready: list[float] = []
    loaded: list[float] = []
    transferred = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            for _ in range(loads + 1):  # the first warms Chromium itself, not counted
                context = browser.new_context(viewport={"width": 420, "height": 900})
                try:
                    context.route("**/*", route)
                    page = context.new_page()
                    page.goto(url, wait_until="load")
                    timing = page.evaluate(
                        "() => { const n = performance.getEntriesByType('navigation')[0];"
                        " const own = performance.getEntriesByType('resource')"
                        f".filter(r => r.name.startsWith({origin!r}));"
                        " return [n.domContentLoadedEventEnd, n.loadEventEnd,"
                        " n.transferSize + own.reduce((s, r) => s + r.transferSize, 0)]; }"
                    )
                finally:
                    context.close()
                ready.append(float(timing[0]) / 1000)
                loaded.append(float(timing[1]) / 1000)
                transferred = int(timing[2])
        finally:
            browser.close()
    return ready[1:], loaded[1:], transferred, refused


def run_page_and_inline(
    *,
    workdir: Path,
    loads: int,
    users: int,
    seconds: float,
    warmup: float,
    latency: float = 0.0,
) -> tuple[PageRun, InlineRun]:
    """One Story Brief process serving the page: its bytes, its render, inline and replies."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/story"
    script = command_script(paragraph_count())
    with InlineDouble(TOKEN, latency=latency) as api, harness_gc_paused():
        bot = spawn(
            "story-brief",
            api,
            workdir,
            BOT_DATABASE_URL=Database.sqlite(workdir / "state.sqlite3").url,
            BOT_WEBAPP_URL=url,
            BOT_LISTEN="127.0.0.1",
            BOT_PORT=str(port),
        )
        try:
            bot.wait_ready(api)
            _wait_serving(bot, url)
            raw, _ = _fetch(url, "identity")
            compressed, encoding = _fetch(url, "gzip")
            by_server = encoding == "gzip"
            gzip_bytes = len(compressed) if by_server else len(gzip.compress(raw, 6))
            ready, loaded, transferred, refused = _render(url, loads)

            # Replies, then inline answers: the same users, the same seconds, one after the other.
            began = time.monotonic()
            replies_from = began + warmup
            replies_to = replies_from + seconds
            api.start_load(range(FIRST_USER, FIRST_USER + users), script, replies_to)
            time.sleep(max(0.0, replies_to - time.monotonic()))
            api.stop_load()
            _drain(api.outstanding)
            inline_from = time.monotonic() + warmup
            inline_to = inline_from + seconds
            api.start_inline(range(INLINE_FIRST_USER, INLINE_FIRST_USER + users), inline_to)
            time.sleep(max(0.0, inline_to - time.monotonic()))
            _drain(api.inline_outstanding)
            unanswered = api.inline_outstanding()
        finally:
            code = bot.stop()
        if code != 0:
            raise RuntimeError(f"story-brief exited with {code}:\n{bot.stderr()[-3000:]}")
        replies = [e for e in api.exchanges if replies_from <= e.answered < replies_to]
        inline = [(a, b) for a, b in api.inline_answers_at if inline_from <= b < inline_to]
        sampled = [b - a for a, b in api.inline_answers_at if inline_from <= a < inline_to]
        violations = len(api.violations)
    page = PageRun(
        raw_bytes=len(raw),
        gzip_bytes=gzip_bytes,
        gzip_by_server=by_server,
        browser_transferred=transferred,
        loads=loads,
        dom_content_loaded=median(ready),
        load=median(loaded),
        load_worst=max(loaded),
        refused=refused,
    )
    inline_run = InlineRun(
        users=users,
        latency=latency,
        seconds=seconds,
        replies_per_second=len(replies) / seconds,
        inline_per_second=len(inline) / seconds,
        inline_p99=percentile(sampled, 0.99),
        inline_answered=len(api.inline_answers_at),
        inline_unanswered=unanswered,
        violations=violations,
    )
    return page, inline_run


def _drain(outstanding: Callable[[], int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while outstanding() and time.monotonic() < deadline:
        time.sleep(0.01)
