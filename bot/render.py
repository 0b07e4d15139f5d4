"""Every message the bot sends comes from a Jinja2 template in ``templates/``.

Templates ending in ``.html`` produce Telegram HTML and are autoescaped; ``.txt`` templates
produce plain text (the console's banner). Names starting with ``_`` are partials. Button
labels and command descriptions live in ``labels.j2`` as top-level ``set`` statements, so
no user-facing sentence lives in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
from markupsafe import Markup

from bot import TEMPLATES_DIR
from bot.digest import Digest
from bot.digest.model import Cited
from bot.digest.worddiff import changed_sentences
from bot.markup import split_message

T = TypeVar("T")

SECTIONS = ("summary", "quotes", "figures", "people", "timeline", "source")
"""The digest's sections, in menu order; each is a command and a template of its own."""


@dataclass(frozen=True)
class Labels:
    """Short user-facing strings that are not whole messages: buttons and the command menu."""

    sections: Mapping[str, str]
    paragraph: str
    command_menu: Mapping[str, str]
    """Each command's line in the command menu, by name (bot/chat/commands.py lists them)."""
    read_story: str
    share: str
    open_brief: str
    all_changes: str

    def paragraph_button(self, number: int) -> str:
        return self.paragraph.format(number=number)


class Renderer:
    """Renders message templates with a digest and cuts them to Telegram's length limit."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.environment.filters["clip"] = clip
        self.environment.filters["changed_sentences"] = changed_sentences
        # The labels are the template's top-level `set` variables (its module attributes).
        module = self.environment.get_template("labels.j2").module
        self.labels = Labels(
            sections=dict(getattr(module, "sections")),  # noqa: B009 - not a typed attribute
            paragraph=str(getattr(module, "paragraph_button")),  # noqa: B009
            command_menu=_descriptions(getattr(module, "command_menu")),  # noqa: B009
            read_story=str(getattr(module, "read_story_button")),  # noqa: B009
            share=str(getattr(module, "share_button")),  # noqa: B009
            open_brief=str(getattr(module, "open_brief_button")),  # noqa: B009
            all_changes=str(getattr(module, "all_changes_button")),  # noqa: B009
        )

    def text(self, name: str, **context: Any) -> str:
        """One template rendered whole, without splitting."""
        return self.environment.get_template(name).render(**context).strip()

    def messages(self, name: str, **context: Any) -> list[str]:
        """A template rendered and split into messages Telegram accepts."""
        return split_message(self.text(name, **context))

    def section(self, section: str, digest: Digest) -> list[str]:
        """One section of the digest, ready to send."""
        return self.messages(f"{section}.html", **digest_context(digest))

    def message_templates(self) -> list[str]:
        """Every template that renders a whole message (not partials, labels or pages).

        ``page/`` holds the story page's templates: web HTML, not Telegram's.
        """
        return sorted(
            name
            for name in self.environment.list_templates(extensions=["html", "txt"])
            if not Path(name).name.startswith("_") and not name.startswith("page/")
        )


class DigestCache:
    """Values computed from one digest alone, each computed once and kept while it is served.

    Rendering a section (Jinja2 and the splitter) costs more than the rest of a reply does
    in our code, and gives the same text for every chat. :class:`bot.library.DigestLibrary`
    holds one cache per served digest and replaces it whenever another digest is served (a
    /reload, a /rollback, a start that publishes): a reply can never show text rendered from
    a digest that is no longer served. So a value may depend on :attr:`digest` (and on the
    process's fixed templates), never on the chat, the user or what they typed.

    Keys come from short fixed lists (section names, paragraph numbers that exist); beyond
    ``max_entries`` values are computed and not kept, so memory stays bounded regardless.
    """

    def __init__(self, digest: Digest, max_entries: int = 1024) -> None:
        self.digest = digest
        self.max_entries = max_entries
        self._values: dict[Hashable, object] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept under ``key``, or ``compute()`` (kept, while there is room)."""
        try:
            return cast(T, self._values[key])
        except KeyError:
            value = compute()
            if len(self._values) < self.max_entries:
                self._values[key] = value
            return value

    def __len__(self) -> int:
        return len(self._values)


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis; plain text, escaped on output.

    Escaped text is cut as the reader sees it, so that no ``&amp;`` is cut in two.
    """
    plain = text.unescape() if isinstance(text, Markup) else str(text)
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def _descriptions(value: Any) -> dict[str, str]:
    """``{command: description}`` from the labels template, checked."""
    descriptions = {str(name): str(text) for name, text in dict(value).items()}
    if not descriptions:
        raise ValueError("labels.j2 describes no commands")
    return descriptions


def cited_paragraphs(section: str, digest: Digest) -> list[int]:
    """The paragraphs a section cites, in order: one tap away under the section."""
    document = digest.document
    groups: dict[str, list[Sequence[Cited]]] = {
        "summary": [document.key_points, [figure for figure in document.figures if figure.key]],
        "quotes": [document.quotes, document.statements],
        "figures": [document.figures],
        "people": [document.people],
        "timeline": [document.timeline, document.open_questions],
    }
    cited = set(document.summary_cite) if section == "summary" else set()
    for group in groups.get(section, []):
        for item in group:
            cited.update(item.cite)
    return sorted(cited)


_CALENDAR_DATE = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|December"
    # "May" is a month only beside a day or after "in"/"of": otherwise it is the verb.
    r"|May(?=\s+\d)|(?<=\d\s)May|(?<=\bin\s)May|(?<=\bof\s)May)\b"
    r"|\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.(?=\s*\d)"
    r"|\b(?:19|20)\d\d\b"
    r"|\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b"
)


def names_calendar_dates(text: str) -> bool:
    """Whether ``text`` gives a calendar date: a month, a year or a numeric date.

    A weekday ("on Tuesday") or a relative time ("this week") is not one: it places an
    event only relative to when the text was written.
    """
    return _CALENDAR_DATE.search(text) is not None


def digest_context(digest: Digest) -> dict[str, Any]:
    """The names every template sees: ``brief`` (the digest's content), ``article``, and
    ``calendar_dates`` (whether the article gives any, see :func:`names_calendar_dates`)."""
    return {
        "brief": digest.document,
        "article": digest.article,
        "calendar_dates": names_calendar_dates(digest.article.text),
    }
