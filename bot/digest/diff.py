"""What changed between two versions of a digest, section by section.

Items are matched by what identifies them to a reader: a quote by its words, a figure by
what it counts (so a corrected value shows as *changed*), a person by name. An item whose
identity is new is *added*, one whose identity is gone is *removed*, and one whose other
fields differ is *changed*. The diff carries the items themselves: the template
(``templates/_changes.html``) words them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.digest.model import DigestDocument

Identify = Callable[[Any], Hashable]

UNSEEN_SECTIONS = frozenset(["lexicon"])
"""Sections that steer the bot but that no reader sees: an admin is told of their changes,
subscribers are not."""


@dataclass(frozen=True)
class Changed:
    """An item still there but different: the item as it is now, and which fields changed.

    ``item`` is the new title or summary text for those sections, ``None`` for the source
    details and the article (whose fields say it all), and the digest item otherwise.
    """

    item: Any
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class SectionChanges:
    """The changes to one section: the items added and removed, and those changed."""

    section: str
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
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

    @property
    def for_readers(self) -> DigestDiff:
        """The changes a reader can see: without :data:`UNSEEN_SECTIONS`."""
        return DigestDiff([s for s in self.sections if s.section not in UNSEEN_SECTIONS])


# section -> the identity of an item
_LISTS: dict[str, Identify] = {
    "key_points": lambda p: p.text,
    "quotes": lambda q: q.text,
    "statements": lambda s: (s.speaker, s.text),
    "figures": lambda f: f.label,
    "people": lambda e: e.name,
    "timeline": lambda e: (e.when, e.event),
    "open_questions": lambda q: q.text,
}


def diff_digests(old: DigestDocument, new: DigestDocument) -> DigestDiff:
    """The structured difference from ``old`` to ``new``."""
    sections: list[SectionChanges] = []
    if old.title != new.title:
        sections.append(SectionChanges("title", changed=[Changed(new.title)]))
    before = {"text": old.summary, "cite": old.summary_cite}
    after = {"text": new.summary, "cite": new.summary_cite}
    if before != after:
        changed = Changed(new.summary, _fields(before, after))
        sections.append(SectionChanges("summary", changed=[changed]))
    if old.source != new.source:
        changed = Changed(None, _fields(old.source.model_dump(), new.source.model_dump()))
        sections.append(SectionChanges("source", changed=[changed]))
    for name, identity in _LISTS.items():
        changes = _diff_items(name, getattr(old, name), getattr(new, name), identity)
        if changes:
            sections.append(changes)
    # A lexicon entry is identified by its words: an edited entry is one removed, one added.
    lexicon = _diff_items("lexicon", old.lexicon, new.lexicon, tuple)
    if lexicon:
        sections.append(lexicon)
    return DigestDiff(sections)


def _diff_items(
    name: str, old: Sequence[Any], new: Sequence[Any], identity: Identify
) -> SectionChanges:
    before = {identity(item): item for item in old}
    after = {identity(item): item for item in new}
    return SectionChanges(
        name,
        added=[item for key, item in after.items() if key not in before],
        removed=[item for key, item in before.items() if key not in after],
        changed=[
            Changed(item, _fields(before[key].model_dump(), item.model_dump()))
            for key, item in after.items()
            if key in before and before[key] != item
        ],
    )


def _fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """The names of the fields whose values differ, in the schema's order."""
    return tuple(name for name in new if old.get(name) != new.get(name))
