"""Draft a digest for a new article, Telegram-free: ``python -m bot draft ARTICLE``.

:func:`draft_digest` reads a plain-text article and returns a digest file that
``python -m bot check`` accepts as written, and a report of what it found, what it is
unsure of (marked ``# check:`` in the file) and what it left out because a rule rejected it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.draft.figures import draft_figures
from bot.draft.items import Drafted
from bot.draft.people import Registry, find_entities
from bot.draft.report import Report, report
from bot.draft.speech import Speakers, draft_speech
from bot.draft.summary import draft_key_points, draft_source, draft_summary
from bot.draft.text import NotAnArticle, read_article
from bot.draft.timeline import draft_timeline
from bot.draft.writer import Draft, prune, relative_article, to_yaml, verify

__all__ = ["DraftError", "DraftResult", "NotAnArticle", "Report", "draft_digest"]


class DraftError(Exception):
    """The draft could not be made to pass ``check`` (a bug: the report says why)."""


@dataclass(frozen=True)
class DraftResult:
    """The digest file's text, the draft it was written from, and the report."""

    yaml: str
    draft: Draft
    findings: Report

    @property
    def report(self) -> str:
        """The report as text, as the command line prints it."""
        return self.findings.text()


def draft_digest(article_path: Path, text: str, digest_path: Path) -> DraftResult:
    """Draft the digest of ``text`` (the article at ``article_path``) to live at ``digest_path``.

    Raises :class:`NotAnArticle` when the text has no line that can be its headline.
    """
    read = read_article(article_path, text)
    if not read.content():
        raise NotAnArticle(f"{article_path}: no paragraphs after the headline {read.headline!r}")
    registry = find_entities(read)
    quotes, statements, skipped = draft_speech(read, Speakers(registry, read))
    figures = draft_figures(read)
    summary, summary_cite = draft_summary(read)
    key_points = draft_key_points(read, registry, figures) or [
        Drafted({"text": summary, "cite": summary_cite})
    ]
    draft = Draft(
        title=read.headline,
        article=relative_article(article_path, digest_path),
        source=draft_source(read),
        summary=summary,
        summary_cite=summary_cite,
        sections={
            "key_points": key_points,
            "quotes": quotes,
            "statements": statements,
            "figures": figures,
            "people": _people(registry),
            "timeline": draft_timeline(read),
        },
        dropped=skipped,
    )
    prune(draft, read.article)
    text_out = to_yaml(draft)
    problems = verify(text_out, digest_path, text)
    if problems:
        raise DraftError("\n".join(problems))
    return DraftResult(text_out, draft, report(draft))


def _people(registry: Registry) -> list[Drafted]:
    people = []
    for entity in registry.entities:
        if not entity.paragraphs:
            continue  # named only in the headline or the byline
        fields = {
            "name": entity.name,
            "kind": entity.kind,
            "role": entity.role,
            "description": entity.description or entity.name,
            "cite": entity.paragraphs[:3],
        }
        people.append(Drafted(fields, list(entity.notes)))
    return people
