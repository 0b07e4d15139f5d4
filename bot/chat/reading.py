"""Reading the brief: /start, the sections, /source and the buttons that open them."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.chat.context import BriefContext, Services
from bot.chat.keyboards import (
    PARAGRAPH_PREFIX,
    SECTION_PREFIX,
    paragraphs_keyboard,
    sections_keyboard,
    share_button,
    story_button,
)
from bot.chat.replies import command_name, reply, send_template
from bot.render import SECTIONS, cited_paragraphs, digest_context

Rendered = tuple[tuple[str, ...], InlineKeyboardMarkup | None]
"""Messages ready to send, and the keyboard under the last one."""


STORY_PAGE_SECTIONS = frozenset({"summary"})
"""Sections whose keyboard opens the story page too (as /start's does), when it is served."""
UNSHARED_SECTIONS = frozenset({"source"})
"""Sections with no Share button: /source is a list of paragraph buttons, not a card."""


def rendered_section(services: Services, section: str, *, private: bool = True) -> Rendered:
    """A section of the digest served, with a button for each paragraph it cites, the story
    page's button (for the summary, when served) and a Share button.

    The same for every chat of a kind (a topic thread only changes where it is sent; the
    story page opens as a Mini App only in private chats), so it is rendered once per
    served digest and kind of chat: :class:`bot.render.DigestCache`.
    """
    cache = services.cache

    def render() -> Rendered:
        digest = cache.digest  # the digest this cache belongs to, never a newer one
        if section == "source":
            numbers = list(range(1, len(digest.article.paragraphs) + 1))
        else:
            numbers = cited_paragraphs(section, digest)
        labels = services.renderer.labels
        extra = []
        url = services.settings.webapp_url
        if url and section in STORY_PAGE_SECTIONS:
            extra.append(story_button(labels, url, private=private))
        if section not in UNSHARED_SECTIONS:
            extra.append(share_button(labels, section))
        keyboard = paragraphs_keyboard(labels, numbers, extra)
        return tuple(services.renderer.section(section, digest)), keyboard

    return cache.get(("section", section, private), render)


def rendered_paragraph(services: Services, number: int) -> tuple[str, ...]:
    """Paragraph ``number`` (it exists) of the digest served, rendered once per digest."""
    cache = services.cache

    def render() -> tuple[str, ...]:
        # Only the number and the digest: paragraph.html is not given what the user typed
        # ("05" and "5" are one cached message), and StrictUndefined would refuse it.
        parts = services.renderer.messages(
            "paragraph.html", number=number, **digest_context(cache.digest)
        )
        return tuple(parts)

    return cache.get(("paragraph", number), render)


def rendered_page(services: Services, template: str, **context: object) -> tuple[str, ...]:
    """A message rendered from the digest served and ``context``, which must be the same
    for every chat and every digest (/start, /help)."""
    cache = services.cache
    return cache.get(
        ("page", template),
        lambda: tuple(
            services.renderer.messages(template, **digest_context(cache.digest), **context)
        ),
    )


def menu_keyboard(services: Services, *, private: bool = True) -> InlineKeyboardMarkup:
    """The sections menu, with the story page when it is served; InlineKeyboardMarkup is
    immutable, so one object serves every chat of a kind."""
    labels = services.renderer.labels
    url = services.settings.webapp_url

    def build() -> InlineKeyboardMarkup:
        story = story_button(labels, url, private=private) if url else None
        return sections_keyboard(labels, story)

    return services.cache.get(("sections-keyboard", private), build)


def is_private(update: Update) -> bool:
    """Whether the update comes from a private chat (where Mini App buttons are allowed)."""
    chat = update.effective_chat
    return chat is None or chat.type == chat.PRIVATE


async def send_section(update: Update, context: BriefContext, section: str) -> None:
    """Send one section of the digest, with a button for each paragraph it cites."""
    parts, keyboard = rendered_section(context.bot_data, section, private=is_private(update))
    await reply(update, context, parts, keyboard)


async def send_paragraph(update: Update, context: BriefContext, requested: str) -> None:
    """Send paragraph ``requested`` of the article, or say which numbers exist."""
    services = context.bot_data
    number = int(requested) if requested.isdecimal() else 0
    if 1 <= number <= len(services.cache.digest.article.paragraphs):
        await reply(update, context, rendered_paragraph(services, number))
        return
    # Quotes what the user typed: rendered each time, never cached.
    await send_template(
        update,
        context,
        "no_such_paragraph.html",
        requested=requested,
        **digest_context(services.cache.digest),
    )


async def start(update: Update, context: BriefContext) -> None:
    """Welcome the user with the headline and the sections, or open a deep-linked section."""
    section = context.args[0].lower() if context.args else ""
    if section in SECTIONS:
        await send_section(update, context, section)
        return
    services = context.bot_data
    keyboard = menu_keyboard(services, private=is_private(update))
    await reply(update, context, rendered_page(services, "start.html"), keyboard)


async def section_command(update: Update, context: BriefContext) -> None:
    """Answer /summary, /quotes, /figures, /people and /timeline with their section."""
    await send_section(update, context, command_name(update.effective_message))


async def source(update: Update, context: BriefContext) -> None:
    """Say where the text comes from; ``/source N`` shows paragraph N."""
    if context.args:
        await send_paragraph(update, context, context.args[0])
    else:
        await send_section(update, context, "source")


async def section_button(update: Update, context: BriefContext) -> None:
    """Answer a section button (``section:NAME``), then send that section."""
    section = await _answer_button(update, SECTION_PREFIX)
    if section is not None:
        await send_section(update, context, section)


async def paragraph_button(update: Update, context: BriefContext) -> None:
    """Answer a paragraph button (``paragraph:N``), then send that paragraph."""
    number = await _answer_button(update, PARAGRAPH_PREFIX)
    if number is not None:
        await send_paragraph(update, context, number)


async def _answer_button(update: Update, prefix: str) -> str | None:
    """Answer the button pressed (Telegram shows a spinner until then); its data after
    ``prefix``, which the handler's pattern has checked."""
    query = update.callback_query
    if query is None:  # pragma: no cover - registered for callback queries only
        return None
    await query.answer()
    return (query.data or "").removeprefix(prefix)
