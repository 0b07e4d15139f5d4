"""The digest as YAML, cut to what ``check`` accepts.

The draft is validated in-process with the very rules ``check`` applies; each item a rule
rejects is left out (and reported), and the whole is checked again until no rule objects.
The YAML is written by hand around PyYAML's scalars so that ``# check:`` notes can sit
above the items they concern.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.digest import Article, inspect_texts
from bot.digest.grounding import SUMMARY_MAX_WORDS, Finding, ground
from bot.digest.model import DigestDocument
from bot.draft.items import Drafted

SECTIONS = ("key_points", "quotes", "statements", "figures", "people", "timeline")
# The order of an item's keys in the file: what it is, then where it comes from.
_FIELD_ORDER = (
    "name", "kind", "role", "speaker", "text", "value", "label", "when", "event",
    "description", "context", "key", "cite",
)  # fmt: skip


@dataclass
class Draft:
    """A drafted digest: its top-level values, its sections and what was left out."""

    title: str
    article: str
    source: dict[str, Any]
    summary: str
    summary_cite: list[int]
    sections: dict[str, list[Drafted]]
    dropped: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "article": self.article,
            "source": self.source,
            "summary": self.summary,
            "summary_cite": self.summary_cite,
            **{name: [item.fields for item in items] for name, items in self.sections.items()},
        }


def prune(draft: Draft, article: Article) -> None:
    """Leave out every item a grounding rule rejects, until none does."""
    _as_written(draft, article.text)
    findings: list[Finding] = []
    for _ in range(20):
        try:
            document = DigestDocument.model_validate(draft.document())
        except ValidationError as error:
            if not _drop_invalid(draft, error):
                raise
            continue
        findings = ground(document, article)
        if not findings:
            return
        doomed: dict[str, set[int]] = {}
        for location, rule, detail in findings:
            section = location[0]
            if section in SECTIONS and isinstance(location[1], int):
                doomed.setdefault(str(section), set()).add(location[1])
                item = draft.sections[str(section)][location[1]]
                draft.dropped.append(f"{section} ({_where(item)}): {rule}: {detail}")
            elif section == "source":
                draft.source[str(location[1])] = "unknown"
            elif section in {"summary", "summary_cite"} and rule == "summary-too-long":
                draft.summary = _shorter(draft.summary)
            elif section in {"summary", "summary_cite"}:
                # The headline is the article's own words: a summary no rule can object to.
                draft.summary = draft.title
            else:  # pragma: no cover - the title is the headline by construction
                raise ValueError(f"{rule}: {detail}")
        for section, indexes in doomed.items():
            draft.sections[section] = [
                item for index, item in enumerate(draft.sections[section]) if index not in indexes
            ]
        if not draft.sections["key_points"]:
            draft.sections["key_points"] = [
                Drafted({"text": draft.summary, "cite": draft.summary_cite})
            ]
    raise ValueError(f"the draft does not settle: {findings}")


def _drop_invalid(draft: Draft, error: ValidationError) -> bool:
    dropped = False
    for detail in error.errors():
        location = detail["loc"]
        if len(location) >= 2 and location[0] in SECTIONS and isinstance(location[1], int):
            items = draft.sections[str(location[0])]
            if location[1] < len(items):
                draft.dropped.append(
                    f"{location[0]} ({_where(items[location[1]])}): {detail['msg']}"
                )
                items.pop(location[1])
                dropped = True
    return dropped


def _where(item: Drafted) -> str:
    cite = item.fields.get("cite", [])
    return "paragraph " + ", ".join(str(n) for n in cite)


def _shorter(summary: str) -> str:
    return " ".join(summary.split()[: SUMMARY_MAX_WORDS - 1]) + " …"


_CAPITALISED = re.compile(r"[A-Z][\w'\u2019-]*")


def _as_written(draft: Draft, raw: str) -> None:
    """Spell apostrophes in names as the article does: typographic when it uses those.

    The drafter reads normalised paragraphs, but ``check`` looks names up in the raw text.
    """

    def spelled(match: re.Match[str]) -> str:
        word = match.group()
        typographic = word.replace("'", "\u2019")
        return typographic if word not in raw and typographic in raw else word

    def fix(value: Any) -> Any:
        return _CAPITALISED.sub(spelled, value) if isinstance(value, str) else value

    draft.summary = fix(draft.summary)
    for items in draft.sections.values():
        for item in items:
            item.fields = {key: fix(value) for key, value in item.fields.items()}


def relative_article(article: Path, digest: Path) -> str:
    """The article's path as the digest names it: relative to the digest's folder."""
    return Path(os.path.relpath(article.resolve(), digest.resolve().parent)).as_posix()


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, width=10**6, default_flow_style=True)
    return text.removesuffix("\n...\n").removesuffix("\n")


def _item_yaml(item: Drafted) -> list[str]:
    keys = sorted(item.fields, key=lambda key: _FIELD_ORDER.index(key))
    lines = [f"  # check: {note}" for note in item.notes]
    for position, key in enumerate(keys):
        value = item.fields[key]
        if value is None:
            continue
        prefix = "  - " if position == 0 else "    "
        lines.append(f"{prefix}{key}: {_scalar(value)}")
    return lines


def to_yaml(draft: Draft) -> str:
    """The draft as a digest file, with ``# check:`` notes above uncertain items."""
    lines = [
        "# Drafted by `python -m bot draft`: review every item, cut what the story does not",
        "# need, and resolve each `# check:` note. `python -m bot check` accepts it as it is.",
        "",
        f"title: {_scalar(draft.title)}",
        f"article: {_scalar(draft.article)}",
        "",
        "source:",
        *(f"  {key}: {_scalar(value)}" for key, value in draft.source.items()),
        "",
        f"summary: {_scalar(draft.summary)}",
        f"summary_cite: {_scalar(draft.summary_cite)}",
    ]
    for section in SECTIONS:
        items = draft.sections[section]
        lines.append("")
        if not items:
            lines.append(f"{section}: []")
            continue
        lines.append(f"{section}:")
        for item in items:
            lines += _item_yaml(item)
    return "\n".join(lines) + "\n"


def verify(text: str, digest_path: Path, article_text: str) -> list[str]:
    """What ``check`` would say about the written file (nothing, when the pruning worked)."""
    _, problems = inspect_texts(digest_path, text.encode("utf-8"), article_text)
    return [str(problem) for problem in problems]
