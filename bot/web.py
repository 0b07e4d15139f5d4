"""The bot's HTTP side: one ASGI server (Starlette on Uvicorn) for Telegram's webhook, the
story page, health and metrics.

Routes:

- ``POST <path of BOT_WEBHOOK_URL>``: an Update from Telegram. Only with the right
  ``X-Telegram-Bot-Api-Secret-Token`` (else 403, nothing read); declared as JSON (else
  415); at most 1 MiB (else 413); valid JSON (else 400). The update is queued for the
  application and answered 200 at once.
- ``GET /healthz``: 200 and a JSON summary when the digest is loaded and the database
  answers, else 503 and the reason.
- ``GET /metrics``: :mod:`bot.metrics` in the Prometheus text format.
- ``GET <path of BOT_WEBAPP_URL>`` and its API (:mod:`bot.webapp.routes`): the story page,
  when ``BOT_WEBAPP_URL`` is set.

:func:`serve` runs it all for ``python -m bot`` with ``BOT_MODE=webhook``, and runs the
bot by long polling beside a server for the story page, health and metrics when
``BOT_WEBAPP_URL`` is set in polling mode.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.error import TelegramError

from bot import metrics
from bot.chat.app import RETRY_FIRST_DELAY, keep_trying, running
from bot.chat.context import BriefApplication
from bot.chat.polling import polling
from bot.config import HEALTH_PATH, METRICS_PATH, Settings, webhook_path
from bot.inbound import DeadlineH11Protocol, Refused, read_json
from bot.store import BroadcastProgress
from bot.webapp.routes import PageBackend, page_routes

logger = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY: Final = 1024 * 1024
"""Largest update accepted, in bytes (Telegram's are a few kilobytes)."""
HEALTH_TIMEOUT: Final = 5.0
"""Seconds the health check waits for the database before it calls it unavailable."""
BACKLOG_PER_SLOT: Final = 4
"""Updates a webhook replica holds, per update it handles at once (BOT_CONCURRENT_UPDATES),
before it answers 503: Telegram then retries them later, or at a less busy replica."""
SHUTDOWN_TIMEOUT: Final = 10.0
"""Seconds Uvicorn waits for open requests once told to stop."""


# -- settings (validated in bot.config, with every other setting) ------------------------


def registered_url(url: str) -> str:
    """The URL to give setWebhook: ``url`` itself, with ``/telegram`` added if it has no path."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=webhook_path(url)))


def _secret(settings: Settings) -> str:
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise ValueError("BOT_WEBHOOK_SECRET is required in webhook mode")
    return settings.webhook_secret.get_secret_value()


# -- the ASGI app -----------------------------------------------------------------------


def create_web_app(application: BriefApplication, settings: Settings) -> Starlette:
    """The Starlette app: the webhook in webhook mode, the story page when it is served,
    health and metrics always."""
    routes: list[BaseRoute] = []
    if settings.mode == "webhook":
        routes.append(_webhook_route(application, settings))

    async def healthz(request: Request) -> Response:
        return await _health(application)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    routes += [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(METRICS_PATH, metrics_page, methods=["GET"]),
    ]
    if settings.webapp_url:
        routes += page_routes(page_backend(application, settings), settings.webapp_path)
    # The story page is text: compressed it is a quarter of its size (26 KB to 6 KB).
    return Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=1024)])


def page_backend(application: BriefApplication, settings: Settings) -> PageBackend:
    """What the story page needs from the bot: the digest served, the answer engine, the
    store's subscriptions (a page user's is their private chat with the bot)."""
    services = application.bot_data
    if settings.token is None:
        raise ValueError("BOT_TOKEN is required to serve the story page")

    async def subscribed(user_id: int) -> bool:
        subscription = await services.store.subscriptions.subscription(user_id)
        return subscription is not None and subscription.active

    async def set_subscribed(user_id: int, wanted: bool) -> bool:
        if wanted:
            await services.store.subscriptions.subscribe(user_id, chat_type="private", title=None)
        else:
            await services.store.subscriptions.unsubscribe(user_id)
        return await subscribed(user_id)

    return PageBackend(
        token=settings.token.get_secret_value(),
        renderer=services.renderer,
        digest=lambda: services.library.current,
        version=lambda: services.library.version.id,
        answer=lambda question: services.library.answers.answer(question),
        subscribed=subscribed,
        set_subscribed=set_subscribed,
    )


def _webhook_route(application: BriefApplication, settings: Settings) -> Route:
    """``POST <path of BOT_WEBHOOK_URL>``: Telegram's updates, queued for the application."""
    if not settings.webhook_url:
        raise ValueError("BOT_WEBHOOK_URL is required in webhook mode")
    expected = _secret(settings).encode()
    max_backlog = BACKLOG_PER_SLOT * settings.concurrent_updates

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, expected):
            # Not Telegram: say nothing about why, and read nothing more.
            logger.warning("webhook request refused: missing or wrong secret token")
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            data = await read_json(request, MAX_BODY)
        except Refused as refused:
            return Response(str(refused), status_code=refused.status, media_type="text/plain")
        update = _update_from(data, application)
        if update is None:
            return Response("not an Update", status_code=400, media_type="text/plain")
        # Telegram retries a webhook that fails: better than a queue without end. The queue
        # itself holds one getUpdates' worth beyond the updates in hand (AdmissionQueue);
        # nothing awaits between the check and the put, so it cannot fill meanwhile.
        if backlog(application) >= max_backlog or application.update_queue.full():
            metrics.count_webhook_refused()
            return Response("busy", status_code=503, media_type="text/plain")
        application.update_queue.put_nowait(update)
        return Response(status_code=200)

    return Route(webhook_path(settings.webhook_url), telegram, methods=["POST"])


def backlog(application: BriefApplication) -> int:
    """Updates taken and not yet handled: queued, waiting for their chat, or running."""
    return (
        application.update_queue.qsize() + application.update_processor.current_concurrent_updates
    )


def _update_from(data: Any, application: BriefApplication) -> Update | None:
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, application.bot)
    except Exception as error:  # de_json raises whatever a wrong shape makes it trip on
        # The error's class, not the content: an update may carry a user's private message.
        logger.warning("webhook update %s refused: %s", data["update_id"], type(error).__name__)
        return None


async def _health(application: BriefApplication) -> Response:
    data = application.bot_data
    try:
        version = data.library.version
    except RuntimeError:
        return _unavailable("the digest is not loaded yet")
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            counts = await data.store.subscriptions.subscriber_counts()
            latest = await data.store.ledger.latest_broadcast()
    except TimeoutError:
        logger.warning("health check: the database did not answer in %.0f s", HEALTH_TIMEOUT)
        return _unavailable("the database does not answer")
    except Exception as error:
        # The class only: a driver's message may name the database's host and user.
        logger.warning("health check: the database failed (%s)", type(error).__name__)
        return _unavailable("the database does not answer")
    return JSONResponse(
        {
            "status": "ok",
            "version": version.id,
            # Which replica drains the delivery ledger: exactly one is "leading".
            "sender": "leading" if _leading(application) else "standby",
            "subscribers": {"active": counts.active, "inactive": counts.inactive},
            "last_broadcast": None if latest is None else _progress(latest),
        },
        headers={"Cache-Control": "no-store"},
    )


def _leading(application: BriefApplication) -> bool:
    return application.bot_data.leadership.is_leader


def _progress(broadcast: BroadcastProgress) -> dict[str, Any]:
    return {
        "id": broadcast.broadcast_id,
        "kind": broadcast.kind,
        "version": broadcast.version_id,
        "created_at": broadcast.created_at.isoformat(),
        "recipients": broadcast.recipients,
        "sent": broadcast.sent,
        "pending": broadcast.pending + broadcast.sending,  # as /stats counts them
        "blocked": broadcast.blocked,
        "failed": broadcast.failed,
        "cancelled": broadcast.cancelled,
    }


def _unavailable(reason: str) -> Response:
    return JSONResponse(
        {"status": "unavailable", "reason": reason},
        status_code=503,
        headers={"Cache-Control": "no-store"},
    )


# -- serving ----------------------------------------------------------------------------


def make_server(application: BriefApplication, settings: Settings) -> uvicorn.Server:
    """The Uvicorn server of :func:`create_web_app`, on ``BOT_LISTEN``:``BOT_PORT``.

    Uvicorn's access log stays off (it would print every request path); its other lines go
    through the bot's logging (``log_config=None``), redaction included. A request has
    :data:`bot.inbound.REQUEST_TIMEOUT` seconds to arrive (Uvicorn has no such limit).
    """
    config = uvicorn.Config(
        create_web_app(application, settings),
        host=settings.listen,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT),
        http=DeadlineH11Protocol,
    )
    return uvicorn.Server(config)


class ListenError(Exception):
    """The server cannot listen on ``BOT_LISTEN``:``BOT_PORT`` (the message says why)."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening, or :class:`ListenError`.

    Bound before the bot starts, so a port in use stops it before anything else happens
    (Uvicorn would exit the process itself); listening at once, so Telegram's first updates
    wait in the backlog until the server accepts them rather than being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise ListenError(
            f"BOT_LISTEN, BOT_PORT: cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return sock


async def serve(
    application: BriefApplication,
    settings: Settings,
    *,
    server: uvicorn.Server | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Run the bot until SIGTERM or SIGINT (or ``server.should_exit``), in ``BOT_MODE``.

    Binds ``BOT_LISTEN``:``BOT_PORT`` first (:class:`ListenError` if it cannot), so that a
    port in use stops the bot before it takes any update; starts the application (store,
    digest, sender); in webhook mode registers the webhook (retried in the background while
    serving if that fails), in polling mode polls beside the story page, health and metrics;
    then serves until told to stop: Uvicorn stops taking requests and finishes the open
    ones, then the application handles the updates already queued, lets the sender finish
    its sends and closes the database.

    ``server`` (from :func:`make_server`) and ``sockets`` (bound and listening) are for tests.
    """
    if settings.mode == "webhook":
        url = registered_url(settings.webhook_url or "")
        secret = _secret(settings)
        with _listening(application, settings, server, sockets) as (server, sockets):
            await _serve_webhook(application, server, sockets, url, secret)
    else:
        with _listening(application, settings, server, sockets) as (server, sockets):
            await _serve_polling(application, server, sockets)


async def _serve_webhook(
    application: BriefApplication,
    server: uvicorn.Server,
    sockets: list[socket.socket],
    url: str,
    secret: str,
) -> None:
    async def register() -> None:
        await application.bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )

    async with running(application):
        retry: asyncio.Task[None] | None = None
        try:
            await register()
            logger.info("webhook registered")
        except TelegramError as error:
            logger.warning("setWebhook failed (%s); retrying while serving", error)
            retry = asyncio.create_task(
                keep_trying(register, "setWebhook", first_delay=RETRY_FIRST_DELAY),
                name="register-webhook",
            )
        _log_serving("the webhook, /healthz and /metrics", sockets)
        try:
            await server.serve(sockets=sockets)
        finally:
            if retry is not None:
                retry.cancel()
                await asyncio.gather(retry, return_exceptions=True)
        logger.info("webhook server stopped; stopping the bot")
    # The webhook stays registered: Telegram keeps updates while the bot is away, and with
    # several replicas one that stops must not unregister the others.


async def _serve_polling(
    application: BriefApplication, server: uvicorn.Server, sockets: list[socket.socket]
) -> None:
    def failed(error: BaseException) -> None:
        server.should_exit = True  # a rejected token: the bot cannot go on

    async with running(application), polling(application, on_failed=failed) as poller:
        _log_serving("the story page, /healthz and /metrics", sockets)
        await server.serve(sockets=sockets)
        poller.raise_failure()


@contextmanager
def _listening(
    application: BriefApplication,
    settings: Settings,
    server: uvicorn.Server | None,
    sockets: list[socket.socket] | None,
) -> Iterator[tuple[uvicorn.Server, list[socket.socket]]]:
    """The server and the sockets it serves on, SIGTERM and SIGINT stopping it meanwhile.

    Either given (tests), or made here: ``BOT_LISTEN``:``BOT_PORT`` bound before anything
    starts, and closed when the server is done.
    """
    server = server or make_server(application, settings)
    own = [] if sockets is not None else [listen_socket(settings.listen, settings.port)]
    try:
        with _stop_on_signals(server):
            yield server, sockets or own
    finally:
        for sock in own:
            sock.close()


def _log_serving(what: str, sockets: list[socket.socket]) -> None:
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        logger.info("serving %s on %s:%d", what, host, port)


@contextmanager
def _stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM and SIGINT stop ``server`` gracefully, and only that, until the bot stopped.

    Uvicorn handles both signals while it serves, then raises the signal again for the
    handler it found. That would be the default action (SIGTERM: the process dies at once)
    or asyncio.run's (SIGINT: the main task is cancelled), cutting short the application's
    stop. So the handler it finds is this one, which only asks the server to exit; the
    previous handlers come back once the bot has stopped.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread's handlers
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, stop) for signum in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
