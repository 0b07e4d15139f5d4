"""What changed between two versions of a digest, section by section.

Items are matched by what identifies them to a reader: a quote by its words, a figure by
what it counts (so a corrected value shows as *changed*), a person by name. An item whose
identity is new is *added*, one whose identity is gone is *removed*, and one whose other
fields differ is *changed*. An edit that rewords an item changes its identity too, so what
is left removed and added is then paired by similarity (:data:`EDIT_SIMILARITY`): a reworded
key point is one change, not a removal and an addition. The diff carries the items
themselves, old and new: the template (``templates/_changes.html``) words them and shows
the changed words (:mod:`bot.digest.worddiff`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.digest.model import DigestDocument
from bot.digest.worddiff import similarity

Identify = Callable[[Any], Hashable]

EDIT_SIMILARITY = 0.5
"""Word-level similarity (0-1) above which a removed and an added item are one edit."""

UNSEEN_SECTIONS = frozenset(["questions", "lexicon"])
"""Sections that steer the bot but that no reader sees: an admin is told of their changes,
subscribers are not."""


@dataclass(frozen=True)
class Changed:
    """An item still there but different: the item as it is now, and which fields changed.

    ``item`` is the new title or summary text for those sections, ``None`` for the article
    (whose text is not shown), and the digest item (or the source details) otherwise.
    """

    item: Any
    fields: tuple[str, ...] = ()
    old: Any = None
    """The item (or text) as it was, for showing what changed in it."""


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
class Entry:
    """One change to show: its section, whether it was added, changed or removed, and it."""

    section: str
    kind: str
    change: Any
    """The item itself when added or removed; a :class:`Changed` when changed."""


@dataclass(frozen=True)
class DigestDiff:
    """Every section that changed, in the digest's order."""

    sections: list[SectionChanges]

    def __bool__(self) -> bool:
        return bool(self.sections)

    @property
    def count(self) -> int:
        return sum(section.count for section in self.sections)

    def entries(self) -> list[Entry]:
        """Every change as one entry, section by section, added, changed, then removed."""
        return [
            Entry(section.section, kind, change)
            for section in self.sections
            for kind in ("added", "changed", "removed")
            for change in getattr(section, kind)
        ]

    @property
    def ordered(self) -> DigestDiff:
        """The same changes, most important first (:data:`READING_ORDER`)."""
        return DigestDiff(sorted(self.sections, key=lambda s: READING_ORDER.index(s.section)))

    @property
    def for_readers(self) -> DigestDiff:
        """The changes a reader can see, most important first: without the unseen ones."""
        return DigestDiff([s for s in self.ordered.sections if s.section not in UNSEEN_SECTIONS])


READING_ORDER = (
    "figures",
    "summary",
    "title",
    "quotes",
    "key_points",
    "statements",
    "timeline",
    "people",
    "open_questions",
    "source",
    "article",
    "questions",
    "lexicon",
)
"""Sections by how much a reader needs to hear of their change: the numbers and the summary
first, then what was said, then the rest. An update that must be cut keeps the first."""


# section -> the words of an item that an edit rewords (for pairing removed with added)
_WORDING: dict[str, Callable[[Any], str]] = {
    "key_points": lambda p: p.text,
    "quotes": lambda q: q.text,
    "statements": lambda s: s.text,
    "figures": lambda f: f.label,
    "people": lambda e: f"{e.name} {e.description}",
    "timeline": lambda e: e.event,
    "open_questions": lambda q: q.text,
    "questions": lambda q: f"{q.question} {q.answer}",
}

# section -> the identity of an item
_LISTS: dict[str, Identify] = {
    "key_points": lambda p: p.text,
    "quotes": lambda q: q.text,
    "statements": lambda s: (s.speaker, s.text),
    "figures": lambda f: f.label,
    "people": lambda e: e.name,
    "timeline": lambda e: (e.when, e.event),
    "open_questions": lambda q: q.text,
    "questions": lambda q: q.question,
}


def diff_digests(old: DigestDocument, new: DigestDocument) -> DigestDiff:
    """The structured difference from ``old`` to ``new``."""
    sections: list[SectionChanges] = []
    if old.title != new.title:
        sections.append(SectionChanges("title", changed=[Changed(new.title, ("text",), old.title)]))
    before = {"text": old.summary, "cite": old.summary_cite}
    after = {"text": new.summary, "cite": new.summary_cite}
    if before != after:
        changed = Changed(new.summary, _fields(before, after), old.summary)
        sections.append(SectionChanges("summary", changed=[changed]))
    if old.source != new.source:
        changed = Changed(
            new.source, _fields(old.source.model_dump(), new.source.model_dump()), old.source
        )
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
    added = [item for key, item in after.items() if key not in before]
    removed = [item for key, item in before.items() if key not in after]
    changed = [
        Changed(item, _fields(before[key].model_dump(), item.model_dump()), before[key])
        for key, item in after.items()
        if key in before and before[key] != item
    ]
    wording = _WORDING.get(name)
    if wording is not None:
        for was, now in _pair_edits(removed, added, wording):
            removed.remove(was)
            added.remove(now)
            changed.append(Changed(now, _fields(was.model_dump(), now.model_dump()), was))
    # In the order of the new digest, as a reader of it would meet them.
    position = {id(item): index for index, item in enumerate(new)}
    changed.sort(key=lambda change: position.get(id(change.item), 0))
    return SectionChanges(name, added=added, removed=removed, changed=changed)


def _pair_edits(
    removed: Sequence[Any], added: Sequence[Any], wording: Callable[[Any], str]
) -> list[tuple[Any, Any]]:
    """Removed and added items that are one item reworded, most alike first, each once."""
    candidates = sorted(
        (
            (similarity(wording(was), wording(now)), index_was, index_now)
            for index_was, was in enumerate(removed)
            for index_now, now in enumerate(added)
        ),
        reverse=True,
    )
    paired: list[tuple[Any, Any]] = []
    used_was: set[int] = set()
    used_now: set[int] = set()
    for score, index_was, index_now in candidates:
        if score < EDIT_SIMILARITY:
            break
        if index_was in used_was or index_now in used_now:
            continue
        used_was.add(index_was)
        used_now.add(index_now)
        paired.append((removed[index_was], added[index_now]))
    return paired


def _fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """The names of the fields whose values differ, in the schema's order."""
    return tuple(name for name in new if old.get(name) != new.get(name))
