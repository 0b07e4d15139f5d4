"""The story page in a real browser: headless Chromium driven by Playwright over loopback.

Telegram's script is stubbed: the test serves a small ``window.Telegram.WebApp`` in its
place, with ``initData`` signed by the test token (or forged), a theme and a back button.
Every other request that does not go to the page's own server is refused and recorded.
Screenshots in light and dark theme are written to ``$STORY_PAGE_ARTIFACTS`` (default:
a ``story-page`` folder in pytest's temporary directory).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from bot.digest import Digest, load_digest
from bot.webapp.initdata import sign_init_data
from bot.webapp.routes import page_routes
from tests import DATA_DIR
from tests.benchmarks.page import CHROMIUM_ARGS
from tests.unit.webapp.backend import memory_backend

playwright_sync = pytest.importorskip("playwright.sync_api")

TOKEN = "123456:TEST-TOKEN"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "link_color": "#2481cc"}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "link_color": "#6ab3f3",
    "hint_color": "#708499",
}


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium package is not installed (apt-get install chromium)")
    return found


def telegram_stub(init_data: str, theme: dict[str, str], scheme: str) -> str:
    """A stand-in for telegram-web-app.js: just what the page uses."""
    return (
        "window.__back={visible:false,handler:null};"
        "window.Telegram={WebApp:{"
        f"initData:{json.dumps(init_data)},themeParams:{json.dumps(theme)},"
        f"colorScheme:{json.dumps(scheme)},"
        "ready:function(){window.__ready=true;},expand:function(){},onEvent:function(){},"
        "BackButton:{show:function(){window.__back.visible=true;},"
        "hide:function(){window.__back.visible=false;},"
        "onClick:function(f){window.__back.handler=f;}}}};"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(digest: Digest) -> Iterator[str]:
    """The page's routes for ``digest`` under Uvicorn on a loopback port, in a thread."""
    backend = memory_backend(digest, TOKEN, version=1)
    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=page_routes(backend, "/story")),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "the page server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/story"
    finally:
        uvicorn_server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(digest: Digest) -> Iterator[str]:
    """The seed's page."""
    with serving(digest) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=list(CHROMIUM_ARGS),
        )
        yield launched
        launched.close()


@pytest.fixture
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("STORY_PAGE_ARTIFACTS") or tmp_path_factory.mktemp("story-page"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Page:
    """A browser page on the story page, with Telegram stubbed and the outside refused."""

    def __init__(
        self, browser: object, url: str, init_data: str | None, dark: bool = False
    ) -> None:
        self.refused: list[str] = []
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 420, "height": 900},
            color_scheme="dark" if dark else "light",
        )
        stub = (
            telegram_stub(init_data, DARK if dark else LIGHT, "dark" if dark else "light")
            if init_data is not None
            else ""
        )
        origin = url.rsplit("/story", 1)[0]

        def route(route: object) -> None:
            request_url: str = route.request.url  # type: ignore[attr-defined]
            if request_url == TELEGRAM_SCRIPT:
                route.fulfill(body=stub, content_type="application/javascript")  # type: ignore[attr-defined]
            elif request_url.startswith(origin):
                route.continue_()  # type: ignore[attr-defined]
            else:
                self.refused.append(request_url)
                route.abort()  # type: ignore[attr-defined]

        self.context.route("**/*", route)
        self.context.set_default_timeout(5000)
        self.page = self.context.new_page()
        self.page.goto(url)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.context.close()


def valid_init_data() -> str:
    return sign_init_data(
        {
            "user": json.dumps({"id": 77, "first_name": "Ada"}),
            "auth_date": str(int(datetime.now(UTC).timestamp())),
        },
        TOKEN,
    )


def test_page_renders_every_paragraph_quote_and_figure(
    browser: object, server: str, digest: Digest, artefacts: Path
) -> None:
    with Page(browser, server, valid_init_data()) as view:
        page = view.page
        assert page.locator("p.para").count() == len(digest.article.paragraphs)
        marked_quotes = {
            page.locator(".mk.quote[data-entry]").nth(i).get_attribute("data-entry")
            for i in range(page.locator(".mk.quote[data-entry]").count())
        }
        assert marked_quotes == {f"quote-{i}" for i in range(len(digest.document.quotes))}
        marked_figures = {
            page.locator(".mk.figure[data-entry]").nth(i).get_attribute("data-entry")
            for i in range(page.locator(".mk.figure[data-entry]").count())
        }
        assert marked_figures == {f"figure-{i}" for i in range(len(digest.document.figures))}
        assert page.evaluate("window.__ready") is True
        page.screenshot(path=str(artefacts / "story-light.png"), full_page=True)
        assert view.refused == []


def test_dark_theme_follows_telegram(browser: object, server: str, artefacts: Path) -> None:
    with Page(browser, server, valid_init_data(), dark=True) as view:
        background = view.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(23, 33, 43)"  # DARK["bg_color"]
        view.page.screenshot(path=str(artefacts / "story-dark.png"), full_page=True)


def test_tapping_a_citation_highlights_its_paragraph_and_back_returns(
    browser: object, server: str
) -> None:
    with Page(browser, server, valid_init_data()) as view:
        page = view.page
        link = page.locator("section[aria-labelledby=figures] a[data-cite]").first
        number = link.get_attribute("data-cite")
        link.click()
        paragraph = page.locator(f"#p-{number}")
        assert "hl" in (paragraph.get_attribute("class") or "")
        assert page.evaluate("window.__back.visible") is True
        page.evaluate("window.__back.handler()")
        assert page.evaluate("window.__back.visible") is False


def test_a_marked_item_opens_its_entry_by_keyboard(browser: object, server: str) -> None:
    with Page(browser, server, None) as view:
        page = view.page
        mark = page.locator(".mk.figure[data-entry]").first
        mark.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("dialog#entry")
        assert dialog.get_attribute("open") is not None
        assert "¶" in dialog.inner_text()


def test_ask_answers_with_valid_init_data(browser: object, server: str) -> None:
    with Page(browser, server, valid_init_data()) as view:
        page = view.page
        page.fill("#question", "how many migrants does China have to take back?")
        page.click("#ask-form button")
        page.wait_for_selector("#answer a[data-cite]")
        page.locator("#answer a[data-cite]").first.click()
        assert page.locator("p.para.hl").count() == 1


def test_ask_is_refused_with_forged_init_data(browser: object, server: str) -> None:
    forged = valid_init_data().replace("Ada", "Eve")
    with Page(browser, server, forged) as view:
        page = view.page
        page.fill("#question", "how many migrants?")
        page.click("#ask-form button")
        # A locator waits from Playwright's own world: a string predicate would be polled
        # with eval in the page, which the page's CSP refuses once the first check is false.
        page.locator("#answer", has_text="Telegram did not vouch").wait_for()
        assert "Telegram did not vouch for this page" in page.inner_text("#answer")
        assert page.locator("#answer a[data-cite]").count() == 0


def test_a_plain_browser_reads_but_cannot_ask(browser: object, server: str) -> None:
    with Page(browser, server, None) as view:
        page = view.page
        assert page.locator("#question").is_disabled()
        assert page.locator("#subscribe").is_disabled()
        assert page.locator("p.para").count() > 0


def test_a_story_the_bot_was_not_written_for_reads_the_same(
    browser: object, artefacts: Path
) -> None:
    story = load_digest(DATA_DIR / "stories" / "council-ferry" / "digest.yaml")
    with serving(story) as url, Page(browser, url, valid_init_data()) as view:
        page = view.page
        assert page.locator("p.para").count() == len(story.article.paragraphs)
        for kind, items in (
            ("quote", story.document.quotes),
            ("figure", story.document.figures),
        ):
            marked = {
                page.locator(f".mk.{kind}[data-entry]").nth(i).get_attribute("data-entry")
                for i in range(page.locator(f".mk.{kind}[data-entry]").count())
            }
            assert marked == {f"{kind}-{i}" for i in range(len(items))}, kind
        assert story.document.title in page.inner_text("h1")
        page.screenshot(path=str(artefacts / "story-council-ferry.png"), full_page=True)
        assert view.refused == []
