"""The story page: initData trust, marks in the article, and the page's HTTP API."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from bot.digest import Digest
from bot.webapp.initdata import InitDataError, sign_init_data, validate_init_data
from bot.webapp.page import Mark, nest, story_page
from bot.webapp.routes import PageBackend, page_routes, render_page
from tests.unit.webapp.backend import memory_backend

TOKEN = "123456:TEST-TOKEN"
USER = json.dumps({"id": 4242, "first_name": "Ada"})


def init_data(*, token: str = TOKEN, age: timedelta = timedelta(minutes=1), **extra: str) -> str:
    auth_date = int((datetime.now(UTC) - age).timestamp())
    return sign_init_data({"user": USER, "auth_date": str(auth_date), **extra}, token)


# -- initData ---------------------------------------------------------------------------


def test_valid_init_data_names_its_user() -> None:
    user = validate_init_data(init_data(query_id="AAH"), TOKEN)
    assert (user.id, user.first_name) == (4242, "Ada")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("", "no initData"),
        (init_data(token="654321:OTHER-TOKEN"), "does not validate"),
        (init_data(age=timedelta(days=1, minutes=1)), "more than a day old"),
        (init_data(age=-timedelta(hours=1)), "in the future"),
        ("user=%7B%7D&hash=00", "does not validate"),
        ("%%%", "not a query string"),
    ],
)
def test_forged_stale_or_malformed_init_data_is_refused(data: str, reason: str) -> None:
    with pytest.raises(InitDataError, match=reason):
        validate_init_data(data, TOKEN)


def test_a_changed_field_breaks_the_hash() -> None:
    genuine = init_data()
    forged = genuine.replace("4242", "4243")
    assert forged != genuine
    with pytest.raises(InitDataError, match="does not validate"):
        validate_init_data(forged, TOKEN)


@given(st.text(max_size=300))
def test_arbitrary_text_never_validates(text: str) -> None:
    with pytest.raises(InitDataError):
        validate_init_data(text, TOKEN)


# -- marks ------------------------------------------------------------------------------


def test_nesting_keeps_inner_marks_and_drops_crossing_ones() -> None:
    outer = Mark(0, 20, "quote", "quote-0")
    inner = Mark(5, 10, "figure", "figure-0")
    crossing = Mark(15, 25, "name", "entity-0")
    later = Mark(30, 35, "name", "entity-1")
    roots = nest([later, crossing, inner, outer])
    assert roots == [outer, later]
    assert outer.children == [inner]


def flatten_text(pieces: tuple[object, ...]) -> str:
    return "".join(getattr(piece, "text") for piece in pieces)  # noqa: B009


def test_every_quote_and_figure_of_the_seed_is_marked(digest: Digest) -> None:
    page = story_page(digest)
    for index in range(len(digest.document.quotes)):
        assert f"quote-{index}" in page.marked
    for index in range(len(digest.document.figures)):
        assert f"figure-{index}" in page.marked
    names = [f"entity-{index}" for index, entity in enumerate(digest.document.people)]
    assert sum(name in page.marked for name in names) >= len(names) - 3
    # Marking never changes the text: each paragraph's pieces put back together are it.
    for paragraph, text in zip(page.paragraphs, digest.article.paragraphs, strict=True):
        assert flatten_text(paragraph.segments) == text


# -- the page and its API ---------------------------------------------------------------


class _Structure(HTMLParser):
    """Collects ids, landmarks and headings, and fails on a tag closed out of order."""

    VOID = frozenset({"meta", "link", "br", "input", "img", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                assert value not in self.ids, f"duplicate id {value}"
                self.ids.add(value)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


@pytest.fixture
def backend(digest: Digest) -> PageBackend:
    return memory_backend(digest, TOKEN, version=3)


def test_the_page_is_well_formed_with_every_paragraph_and_landmark(
    backend: PageBackend, digest: Digest
) -> None:
    html = render_page(backend, "/story")
    structure = _Structure()
    structure.feed(html)
    assert structure.open == [], "every element is closed"
    for number in range(1, len(digest.article.paragraphs) + 1):
        assert f"p-{number}" in structure.ids
    for landmark in ("header", "nav", "main", "footer", "h1", "h2"):
        assert landmark in structure.tags
    # Every citation links to a paragraph that exists.
    for number in re.findall(r'href="#p-(\d+)"', html):
        assert 1 <= int(number) <= len(digest.article.paragraphs)
    # The one third-party request is Telegram's script.
    external = set(re.findall(r'(?:src|href)="(https?://[^"]+)"', html))
    assert external == {"https://telegram.org/js/telegram-web-app.js"}


def test_the_page_is_small(backend: PageBackend) -> None:
    import gzip

    html = render_page(backend, "/story").encode()
    assert len(gzip.compress(html)) < 60 * 1024


async def call(backend: PageBackend, method: str, path: str, **kwargs: object) -> httpx.Response:
    app = Starlette(routes=page_routes(backend, "/story"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://page.test") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_page_is_served_to_a_plain_browser(backend: PageBackend) -> None:
    response = await call(backend, "GET", "/story")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_ask_answers_with_citations_into_the_page(backend: PageBackend) -> None:
    response = await call(
        backend,
        "POST",
        "/story/api/ask",
        json={
            "initData": init_data(),
            "question": "how many migrants does China have to take back?",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] != "not_in_article"
    assert re.search(r'href="#p-\d+" data-cite="\d+"', body["html"])


@pytest.mark.parametrize(
    "payload",
    [
        {"question": "how many?"},
        {"initData": "user=1&auth_date=1&hash=abc", "question": "how many?"},
    ],
)
async def test_ask_without_valid_init_data_is_401(
    backend: PageBackend, payload: dict[str, str]
) -> None:
    response = await call(backend, "POST", "/story/api/ask", json=payload)
    assert response.status_code == 401
    assert "html" not in response.json()


async def test_subscription_toggles_only_for_a_validated_user(backend: PageBackend) -> None:
    assert (
        await call(backend, "POST", "/story/api/subscription", json={"initData": init_data()})
    ).json() == {"subscribed": False}
    forged = await call(
        backend,
        "POST",
        "/story/api/subscription",
        json={"initData": init_data(token="654321:OTHER"), "subscribed": True},
    )
    assert forged.status_code == 401
    assert not await backend.subscribed(4242)
    turned_on = await call(
        backend,
        "POST",
        "/story/api/subscription",
        json={"initData": init_data(), "subscribed": True},
    )
    assert turned_on.json() == {"subscribed": True}
    assert await backend.subscribed(4242)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"question=x", "headers": {"content-type": "text/plain"}}, 415),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"x" * 20000, "headers": {"content-type": "application/json"}}, 413),
    ],
)
async def test_bad_requests_are_refused_plainly(
    backend: PageBackend, kwargs: dict[str, object], status: int
) -> None:
    response = await call(backend, "POST", "/story/api/ask", **kwargs)
    assert response.status_code == status
    assert "error" in response.json()


def test_init_data_is_checked_at_call_time() -> None:
    # A day-old initData is refused even though it was valid when signed.
    data = init_data(age=timedelta(hours=23, minutes=59, seconds=50))
    validate_init_data(data, TOKEN)
    with pytest.raises(InitDataError):
        validate_init_data(
            data, TOKEN, now=datetime.now(UTC) + timedelta(seconds=20 + time.time() % 1)
        )
