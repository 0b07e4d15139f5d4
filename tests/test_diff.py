"""The structured diff between two digest versions."""

from __future__ import annotations

from types import SimpleNamespace

from bot.digest import Digest
from bot.digest.diff import Changed, diff_digests
from bot.digest.model import DigestDocument, Entity, Figure, KeyPoint
from bot.render import Renderer

REMOVED = "\N{MINUS SIGN}"
"""The sign the templates mark a removed item with."""


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
    assert sections["key_points"].added == [new.key_points[-1]]
    assert sections["key_points"].removed == [old.key_points[0]]
    assert sections["figures"].changed == [Changed(figures[0], ("context",))]
    assert sections["people"].added == [new.people[-1]]
    assert diff.count == 4


def test_a_corrected_figure_value_is_a_change_not_an_add(digest: Digest) -> None:
    old = digest.document
    corrected = Figure(value="39,000", label=old.figures[0].label, cite=[1], key=True)
    new = old.model_copy(update={"figures": [corrected, old.figures[1]]})
    [figures] = diff_digests(old, new).sections
    assert (figures.added, figures.removed) == ([], [])
    assert figures.changed == [Changed(corrected, ("cite", "value", "context"))]


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
        ("source", [Changed(None, ("note",))]),
    ]


def test_quotes_are_described_by_speaker_and_clipped_words(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"quotes": old.quotes[:2]})
    diff = diff_digests(old, new)
    text = Renderer().text("update.html", brief=new, diff=diff, correction=False, limit=4)
    [removed] = [line for line in text.splitlines() if line.startswith(REMOVED)]
    assert removed.startswith(
        REMOVED + " Michael Chertoff: “The more containers originating in China"
    )
    assert removed.endswith("…”")
    assert len(removed) == len(REMOVED + " ") + 120


def test_items_are_worded_by_the_template_and_escaped(digest: Digest) -> None:
    old = digest.document
    figure = Figure(value="thousands", label="people <b>released</b> & more", cite=[4])
    new = old.model_copy(
        update={
            "figures": [old.figures[0], figure],
            "timeline": old.timeline[1:],
            "statements": old.statements[1:],
            "title": "A " + "long " * 40 + "title",
        }
    )
    diff = diff_digests(old, new)
    text = Renderer().text("update.html", brief=new, diff=diff, correction=False, limit=4)
    assert "+ thousands — people &lt;b&gt;released&lt;/b&gt; &amp; more" in text
    assert f"{REMOVED} {old.timeline[0].when}: {old.timeline[0].event}"[:60] in text
    assert f"{REMOVED} {old.statements[0].speaker}: {old.statements[0].text}" in text
    [headline] = [line for line in text.splitlines() if line.startswith("~ A long")]
    assert headline.endswith("…")
    assert len(headline) == len("~ ") + 120


def test_a_lexicon_change_is_shown_to_the_admin_but_not_to_readers(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"lexicon": [*old.lexicon[1:], ["ministry", "department"]]})
    diff = diff_digests(old, new)
    [lexicon] = diff.sections
    assert lexicon.section == "lexicon"
    assert lexicon.added == [["ministry", "department"]]
    assert lexicon.removed == [old.lexicon[0]]
    assert diff and not diff.for_readers
    renderer = Renderer()
    version = SimpleNamespace(id=7)
    published = renderer.text(
        "reload.html", diff=diff, check=False, usage=False, problems=[], version=version
    )
    assert "no subscriber is told" in published
    assert "+ ministry, department" in published
    assert REMOVED + " " + ", ".join(old.lexicon[0]) in published
    checked = renderer.text(
        "reload.html", diff=diff, check=True, usage=False, problems=[], recipients=3
    )
    assert "no subscriber would be told" in checked
    assert "3 subscribers" not in checked


def test_readers_changes_leave_out_the_lexicon(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"summary": "Shorter.", "lexicon": old.lexicon[1:]})
    diff = diff_digests(old, new)
    assert [s.section for s in diff.sections] == ["summary", "lexicon"]
    assert [s.section for s in diff.for_readers.sections] == ["summary"]
    text = Renderer().text("update.html", brief=new, diff=diff, correction=False, limit=4)
    assert "Lexicon" not in text
    assert "~ Shorter. <i>(wording)</i>" in text


def test_a_correction_of_the_lexicon_alone_says_nothing_visible_changed(digest: Digest) -> None:
    # A /rollback always announces; when only the lexicon differs it must not list nothing.
    old = digest.document
    new = old.model_copy(update={"lexicon": old.lexicon[1:]})
    diff = diff_digests(old, new)
    text = Renderer().text("update.html", brief=new, diff=diff, correction=True, limit=4)
    assert "Nothing you see in the brief changed" in text
    assert "Lexicon" not in text
