"""The story page's HTTP side: the page itself and its small JSON API, as Starlette routes.

- ``GET <path>``: the page, server-rendered from ``templates/page/story.html`` for the
  digest being served; anyone may read it, in Telegram or in a plain browser.
- ``POST <path>/api/ask`` ``{"initData", "question"}``: the chat's answer, as page HTML.
- ``POST <path>/api/subscription`` ``{"initData", "subscribed"?}``: the user's subscription
  (their private chat with the bot), changed when ``subscribed`` is given.

The API trusts nobody but a Telegram user whose ``initData`` validates with the bot token
(:mod:`bot.webapp.initdata`): anything else is 401 and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.answers import Answer
from bot.digest import Digest
from bot.inbound import Refused, read_json
from bot.render import Renderer
from bot.webapp.initdata import InitDataError, WebAppUser, validate_init_data
from bot.webapp.page import story_page

logger = logging.getLogger(__name__)

MAX_API_BODY: Final = 16 * 1024
"""Largest API request accepted, in bytes: initData and a question are well under 4 KB."""
MAX_QUESTION: Final = 300
PAGE_TEMPLATE: Final = "page/story.html"
ANSWER_TEMPLATE: Final = "page/answer.html"


@dataclass(frozen=True)
class PageBackend:
    """What the page needs from the bot, as plain callables (no Telegram objects)."""

    token: str
    renderer: Renderer
    digest: Callable[[], Digest]
    """The digest being served right now."""
    version: Callable[[], int]
    answer: Callable[[str], Answer]
    subscribed: Callable[[int], Awaitable[bool]]
    set_subscribed: Callable[[int, bool], Awaitable[bool]]
    """Subscribe (True) or unsubscribe (False) a user's private chat; returns the new state."""


def stated_metadata(digest: Digest) -> list[tuple[str, str]]:
    """The source's fields the article states (the rest is ``unknown`` and not shown)."""
    source = digest.document.source
    fields = [
        ("Publisher", source.publisher),
        ("Published", source.published),
        ("By", source.byline),
    ]
    return [(label, value) for label, value in fields if value != "unknown"]


def render_page(backend: PageBackend, path: str) -> str:
    """The page for the digest being served."""
    digest = backend.digest()
    return backend.renderer.environment.get_template(PAGE_TEMPLATE).render(
        brief=digest.document,
        article=digest.article,
        page=story_page(digest),
        stated=stated_metadata(digest),
        version=backend.version(),
        api_base=f"{path.rstrip('/')}/api",
    )


async def _payload(request: Request, token: str) -> tuple[WebAppUser, dict[str, Any]]:
    """The request's JSON object and the user its initData vouches for, or :class:`Refused`."""
    payload = await read_json(request, MAX_API_BODY)
    if not isinstance(payload, dict):
        raise Refused(400, "expected a JSON object")
    init_data = payload.get("initData")
    try:
        user = validate_init_data(init_data if isinstance(init_data, str) else "", token)
    except InitDataError as error:
        raise Refused(401, str(error)) from None
    return user, payload


def _api(
    handler: Callable[[WebAppUser, dict[str, Any]], Awaitable[Response]], token: str
) -> Callable[[Request], Awaitable[Response]]:
    """An API endpoint: ``handler`` runs only for a request :func:`_payload` accepts."""

    async def endpoint(request: Request) -> Response:
        try:
            user, payload = await _payload(request, token)
        except Refused as refused:
            return JSONResponse({"error": str(refused)}, status_code=refused.status)
        return await handler(user, payload)

    return endpoint


def page_routes(backend: PageBackend, path: str = "/story") -> list[BaseRoute]:
    """The page and its API under ``path``."""

    async def page(request: Request) -> Response:
        return HTMLResponse(
            render_page(backend, path),
            headers={
                "Cache-Control": "no-cache",
                # Only our own inline code and Telegram's script; nothing else is fetched.
                "Content-Security-Policy": (
                    "default-src 'none'; script-src 'unsafe-inline' https://telegram.org; "
                    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
                    "base-uri 'none'; form-action 'self'; frame-ancestors https://web.telegram.org"
                    " https://*.telegram.org"
                ),
            },
        )

    async def ask(_user: WebAppUser, payload: dict[str, Any]) -> Response:
        question = payload.get("question")
        if not isinstance(question, str) or not question.strip():
            return JSONResponse({"error": "ask a question"}, status_code=400)
        answer = backend.answer(question.strip()[:MAX_QUESTION])
        html = backend.renderer.text(
            ANSWER_TEMPLATE, answer=answer, brief=backend.digest().document
        )
        return JSONResponse({"kind": answer.kind, "html": html})

    async def subscription(user: WebAppUser, payload: dict[str, Any]) -> Response:
        wanted = payload.get("subscribed")
        if wanted is None:
            return JSONResponse({"subscribed": await backend.subscribed(user.id)})
        if not isinstance(wanted, bool):
            return JSONResponse({"error": "subscribed must be true or false"}, status_code=400)
        return JSONResponse({"subscribed": await backend.set_subscribed(user.id, wanted)})

    base = path.rstrip("/") or "/story"
    return [
        Route(base, page, methods=["GET"]),
        Route(f"{base}/api/ask", _api(ask, backend.token), methods=["POST"]),
        Route(f"{base}/api/subscription", _api(subscription, backend.token), methods=["POST"]),
    ]
