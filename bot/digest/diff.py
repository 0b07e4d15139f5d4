"""What changed between two versions of a digest, section by section.

Items are matched by what identifies them to a reader: a quote by its words, a figure by
what it counts (so a corrected value shows as *changed*), a person by name. An item whose
identity is new is *added*, one whose identity is gone is *removed*, and one whose other
fields differ is *changed*.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.digest.model import DigestDocument

Describe = Callable[[Any], str]
Identify = Callable[[Any], Hashable]


@dataclass(frozen=True)
class Changed:
    """An item still there but different: how to recognise it, and which fields changed."""

    description: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True)
class SectionChanges:
    """The changes to one section; each entry is how the reader would recognise the item."""

    section: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def count(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


@dataclass(frozen=True)
class DigestDiff:
    """Every section that changed, in the digest's order."""

    sections: list[SectionChanges]

    def __bool__(self) -> bool:
        return bool(self.sections)

    @property
    def count(self) -> int:
        return sum(section.count for section in self.sections)


# section -> (identity of an item, description of an item)
_LISTS: dict[str, tuple[Identify, Describe]] = {
    "key_points": (lambda p: p.text, lambda p: p.text),
    "quotes": (lambda q: q.text, lambda q: f"{q.speaker}: “{_clip(q.text, 100)}”"),
    "statements": (lambda s: (s.speaker, s.text), lambda s: f"{s.speaker}: {s.text}"),
    "figures": (lambda f: f.label, lambda f: f"{f.value} — {f.label}"),
    "people": (lambda e: e.name, lambda e: e.name),
    "timeline": (lambda e: (e.when, e.event), lambda e: f"{e.when}: {e.event}"),
    "open_questions": (lambda q: q.text, lambda q: q.text),
}


def diff_digests(old: DigestDocument, new: DigestDocument) -> DigestDiff:
    """The structured difference from ``old`` to ``new``."""
    sections: list[SectionChanges] = []
    if old.title != new.title:
        sections.append(SectionChanges("title", changed=[Changed(_clip(new.title))]))
    before = {"text": old.summary, "cite": old.summary_cite}
    after = {"text": new.summary, "cite": new.summary_cite}
    if before != after:
        changed = Changed(_clip(new.summary), _fields(before, after))
        sections.append(SectionChanges("summary", changed=[changed]))
    if old.source != new.source:
        changed = Changed("", _fields(old.source.model_dump(), new.source.model_dump()))
        sections.append(SectionChanges("source", changed=[changed]))
    for name, (identity, describe) in _LISTS.items():
        changes = _diff_items(name, getattr(old, name), getattr(new, name), identity, describe)
        if changes:
            sections.append(changes)
    return DigestDiff(sections)


def _diff_items(
    name: str, old: Sequence[Any], new: Sequence[Any], identity: Identify, describe: Describe
) -> SectionChanges:
    before = {identity(item): item for item in old}
    after = {identity(item): item for item in new}
    return SectionChanges(
        name,
        added=[_clip(describe(item)) for key, item in after.items() if key not in before],
        removed=[_clip(describe(item)) for key, item in before.items() if key not in after],
        changed=[
            Changed(_clip(describe(item)), _fields(before[key].model_dump(), item.model_dump()))
            for key, item in after.items()
            if key in before and before[key] != item
        ],
    )


def _fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """The names of the fields whose values differ, in the schema's order."""
    return tuple(name for name in new if old.get(name) != new.get(name))


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
