"""The drafter's report: what it found, what the editor should check, what it left out."""

from __future__ import annotations

from bot.draft.writer import SECTIONS, Draft

_NOUNS = {
    "key_points": "key points",
    "quotes": "quotes",
    "statements": "statements",
    "figures": "figures",
    "people": "people and places",
    "timeline": "timeline entries",
}


def report(draft: Draft) -> str:
    """A few lines: counts per section, then each ``# check:`` note and each item left out."""
    counts = ", ".join(f"{len(draft.sections[name])} {_NOUNS[name]}" for name in SECTIONS)
    lines = [f"drafted: {counts}"]
    unsure = [
        f"  {name} (paragraph {', '.join(map(str, item.cite))}): {note}"
        for name in SECTIONS
        for item in draft.sections[name]
        for note in item.notes
    ]
    if unsure:
        lines.append(f"to check ({len(unsure)}, marked # check: in the file):")
        lines += unsure
    if draft.dropped:
        lines.append(f"left out ({len(draft.dropped)}):")
        lines += [f"  {reason}" for reason in draft.dropped]
    return "\n".join(lines)
