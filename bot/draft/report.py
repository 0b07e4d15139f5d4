"""The drafter's report: what it found, what the editor should check, what it left out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.draft.writer import SECTIONS, Draft

_NOUNS = {
    "key_points": "key points",
    "quotes": "quotes",
    "statements": "statements",
    "figures": "figures",
    "people": "people and places",
    "timeline": "timeline entries",
}


@dataclass(frozen=True)
class Report:
    """The report as data, for the command line's text and the chat's template alike."""

    headline: str
    counts: tuple[tuple[str, int], ...]
    """(what, how many) per section, in the file's order."""
    unsure: tuple[str, ...]
    """Each ``# check:`` note, with the section and paragraph of its item."""
    dropped: tuple[str, ...]
    """What was left out, and why."""

    def text(self) -> str:
        """A few lines: counts, then each note and each item left out."""
        counts = ", ".join(f"{count} {noun}" for noun, count in self.counts)
        lines = [f"drafted: {counts}"]
        if self.unsure:
            lines.append(f"to check ({len(self.unsure)}, marked # check: in the file):")
            lines += [f"  {line}" for line in self.unsure]
        if self.dropped:
            lines.append(f"left out ({len(self.dropped)}):")
            lines += [f"  {reason}" for reason in self.dropped]
        return "\n".join(lines)


def report(draft: Draft) -> Report:
    """The report on ``draft``."""
    return Report(
        headline=draft.title,
        counts=tuple((_NOUNS[name], len(draft.sections[name])) for name in SECTIONS),
        unsure=tuple(
            f"{name} (paragraph {', '.join(map(str, item.cite))}): {note}"
            for name in SECTIONS
            for item in draft.sections[name]
            for note in item.notes
        ),
        dropped=tuple(draft.dropped),
    )
