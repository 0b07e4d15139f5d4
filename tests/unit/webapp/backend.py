"""The story page's backend over a digest, its subscriptions kept in a dict: the page's
routes with no bot and no store behind them."""

from __future__ import annotations

from bot.answers import AnswerEngine
from bot.digest import Digest
from bot.render import Renderer
from bot.webapp.routes import PageBackend


def memory_backend(digest: Digest, token: str, version: int) -> PageBackend:
    """A backend serving ``digest`` as version ``version``, trusting initData signed for
    ``token``; subscribing and unsubscribing change only a dict."""
    subscribed: dict[int, bool] = {}
    engine = AnswerEngine(digest)

    async def is_subscribed(user_id: int) -> bool:
        return subscribed.get(user_id, False)

    async def set_subscribed(user_id: int, wanted: bool) -> bool:
        subscribed[user_id] = wanted
        return wanted

    return PageBackend(
        token=token,
        renderer=Renderer(),
        digest=lambda: digest,
        version=lambda: version,
        answer=engine.answer,
        subscribed=is_subscribed,
        set_subscribed=set_subscribed,
    )
