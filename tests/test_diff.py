"""The structured diff between two digest versions."""

from __future__ import annotations

from bot.digest import Digest
from bot.digest.diff import Changed, diff_digests
from bot.digest.model import DigestDocument, Entity, Figure, KeyPoint


def test_identical_digests_have_no_changes(digest: Digest) -> None:
    diff = diff_digests(digest.document, digest.document)
    assert not diff
    assert diff.count == 0


def test_added_removed_and_changed_items(digest: Digest) -> None:
    old = digest.document
    figures = [
        old.figures[0].model_copy(update={"context": "Corrected context."}),
        *old.figures[1:],
    ]
    new = old.model_copy(
        update={
            "key_points": [*old.key_points[1:], KeyPoint(text="A new point.", cite=[6])],
            "figures": figures,
            "people": [
                *old.people,
                Entity(name="Asia", kind="place", description="Toured.", cite=[1]),
            ],
        }
    )
    diff = diff_digests(old, new)
    sections = {section.section: section for section in diff.sections}
    assert list(sections) == ["key_points", "figures", "people"]
    assert sections["key_points"].added == ["A new point."]
    assert sections["key_points"].removed == [old.key_points[0].text]
    assert sections["figures"].changed == [
        Changed(
            "about 39,000 — illegal Chinese migrants in the United States whom China is asked to take back",
            ("context",),
        )
    ]
    assert sections["people"].added == ["Asia"]
    assert diff.count == 4


def test_a_corrected_figure_value_is_a_change_not_an_add(digest: Digest) -> None:
    old = digest.document
    corrected = Figure(value="39,000", label=old.figures[0].label, cite=[1], key=True)
    new = old.model_copy(update={"figures": [corrected, old.figures[1]]})
    [figures] = diff_digests(old, new).sections
    assert (figures.added, figures.removed) == ([], [])
    assert figures.changed == [
        Changed(f"39,000 — {old.figures[0].label}", ("cite", "value", "context"))
    ]


def test_summary_title_and_source_changes(digest: Digest) -> None:
    old = digest.document
    new: DigestDocument = old.model_copy(
        update={
            "summary": "Shorter.",
            "source": old.source.model_copy(update={"note": "Re-checked."}),
        }
    )
    diff = diff_digests(old, new)
    assert [(s.section, s.changed) for s in diff.sections] == [
        ("summary", [Changed("Shorter.", ("text",))]),
        ("source", [Changed("", ("note",))]),
    ]


def test_quotes_are_described_by_speaker_and_clipped_words(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"quotes": old.quotes[:2]})
    [quotes] = diff_digests(old, new).sections
    [removed] = quotes.removed
    assert removed.startswith("Michael Chertoff: “The more containers originating in China")
    assert removed.endswith("…”")
