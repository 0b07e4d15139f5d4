"""Admins draft a digest from Telegram: a ``.txt`` article sent as a document in a private
chat comes back as a drafted ``digest.yaml`` and the drafter's report.

Nothing is published: the admin puts the file in place and sends /reload. Anyone else gets
a polite refusal; a file that is not plain text, or larger than
:data:`MAX_ARTICLE_BYTES`, gets a clear error. Register :func:`drafting_handler` before the
catch-all handler for other private messages.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.chat.context import BriefContext
from bot.chat.replies import reply
from bot.render import Renderer

if TYPE_CHECKING:
    from bot.draft import DraftResult

logger = logging.getLogger(__name__)

MAX_ARTICLE_BYTES = 1_000_000
"""A long news article is some 50 KB of text; drafting a megabyte takes about ten seconds."""
DIGEST_FILE_NAME = "digest.yaml"


@dataclass(frozen=True)
class DraftReply:
    """What the bot sends back: the drafted digest (if any), then the messages."""

    messages: list[str]
    document: bytes | None = None


def document_problem(file_name: str | None, mime_type: str | None, size: int | None) -> str | None:
    """Why a document cannot be drafted from, before it is downloaded; None if it can."""
    if not (file_name or "").lower().endswith(".txt") and mime_type != "text/plain":
        return "not_text"
    if size is not None and size > MAX_ARTICLE_BYTES:
        return "too_big"
    return None


def article_name(file_name: str | None) -> str:
    """The article's file name, as the digest will name it: no folders, never empty."""
    name = PurePosixPath((file_name or "").replace("\\", "/")).name.strip()
    return name or "article.txt"


def draft_text(file_name: str | None, content: bytes) -> DraftResult | str:
    """Draft the digest of ``content``; or the reason it cannot be drafted from."""
    from bot.draft import DraftError, NotAnArticle, draft_digest

    if len(content) > MAX_ARTICLE_BYTES:
        return "too_big"
    try:
        text = content.decode("utf-8")  # as check reads it: a BOM stays part of the text
    except UnicodeDecodeError:
        return "not_text"
    if "\x00" in text:
        return "not_text"
    # The digest names the article relative to itself: beside it, under the sent name.
    folder = Path("/article")
    try:
        return draft_digest(folder / article_name(file_name), text, folder / DIGEST_FILE_NAME)
    except NotAnArticle:
        return "no_headline"
    except DraftError:
        logger.exception("a draft did not pass check")
        return "failed"


def draft_reply(
    renderer: Renderer, file_name: str | None, outcome: DraftResult | str
) -> DraftReply:
    """The messages (and file) for a draft's ``outcome``."""
    if isinstance(outcome, str):
        return DraftReply(renderer.messages("draft_error.html", **error_context(outcome)))
    messages = renderer.messages(
        "draft_report.html", draft=outcome.findings, draft_article=article_name(file_name)
    )
    return DraftReply(messages, outcome.yaml.encode("utf-8"))


def error_context(problem: str) -> dict[str, Any]:
    return {"draft_problem": problem, "draft_max_kb": MAX_ARTICLE_BYTES // 1000}


async def draft_document(update: Update, context: BriefContext) -> None:
    """A document in a private chat: an admin's article to draft; anyone else is refused."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or message.document is None or chat is None:  # pragma: no cover
        return
    data = context.bot_data
    user = update.effective_user
    if user is None or user.id not in data.settings.admin_ids:
        await reply(update, context, data.renderer.messages("draft_refused.html"))
        return
    document = message.document
    problem = document_problem(document.file_name, document.mime_type, document.file_size)
    if problem is not None:
        answer = draft_reply(data.renderer, document.file_name, problem)
    else:
        file = await document.get_file()
        content = bytes(await file.download_as_bytearray())
        # Drafting is CPU work of up to seconds: off the event loop, so chats keep moving.
        outcome = await asyncio.to_thread(draft_text, document.file_name, content)
        answer = draft_reply(data.renderer, document.file_name, outcome)
    if answer.document is not None:
        await context.bot.send_document(
            chat_id=chat.id, document=answer.document, filename=DIGEST_FILE_NAME
        )
    await reply(update, context, answer.messages)


def drafting_handler() -> MessageHandler[Any, Any]:
    """The handler for documents sent in private chats (new messages only)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.Document.ALL,
        draft_document,
    )
