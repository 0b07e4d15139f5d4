"""The structured diff between two digest versions, and updates that show the news itself."""

from __future__ import annotations

from types import SimpleNamespace

import markupsafe

from bot.digest import Digest
from bot.digest.diff import READING_ORDER, Changed, diff_digests
from bot.digest.model import DigestDocument, EditorQuestion, Entity, Figure, KeyPoint
from bot.digest.worddiff import Piece, changed_sentences, word_diff
from bot.markup import problems, visible_text
from bot.render import Renderer

REMOVED = "\N{HEAVY MINUS SIGN}"
ADDED = "\N{HEAVY PLUS SIGN}"
EDITED = "✏️"


def update_text(old: DigestDocument, new: DigestDocument, shown: int = 1000) -> str:
    diff = diff_digests(old, new)
    return Renderer().text("update.html", brief=new, diff=diff, correction=False, shown=shown)


# -- word diff --------------------------------------------------------------------------


def test_word_diff_marks_added_and_removed_words() -> None:
    pieces = word_diff("China has refused so far.", "China has so far refused outright.")

    def joined(left_out: str) -> str:
        return "".join("".join(p.text for p in pieces if p.op != left_out).split())

    assert joined("removed") == "Chinahassofarrefusedoutright."
    assert joined("added") == "Chinahasrefusedsofar."
    assert any(p.op == "added" and "outright" in p.text for p in pieces)


def test_only_the_sentences_that_changed_are_kept_whole() -> None:
    old = "The council met. It voted on the ferry. Residents cheered."
    new = "The council met. It voted 7-2 on the ferry. Residents cheered."
    [sentence] = changed_sentences(old, new)
    assert "".join(p.text for p in sentence) == "It voted 7-2 on the ferry."
    assert [p for p in sentence if p.op == "added"] == [Piece("7-2 ", "added")] or any(
        p.op == "added" and p.text.strip() == "7-2" for p in sentence
    )


def test_abbreviations_do_not_end_a_sentence() -> None:
    old = "He met U.S. officials on Tuesday."
    new = "He met U.S. officials on Wednesday."
    [sentence] = changed_sentences(old, new)
    assert "".join(p.text for p in sentence if p.op != "removed").startswith("He met U.S.")


def test_same_words_have_no_changed_sentences() -> None:
    assert changed_sentences("a  b\nc", "a b c") == []


# -- pairing and the structure ----------------------------------------------------------


def test_identical_digests_have_no_changes(digest: Digest) -> None:
    diff = diff_digests(digest.document, digest.document)
    assert not diff
    assert diff.count == 0


def test_a_reworded_key_point_is_one_change(digest: Digest) -> None:
    old = digest.document
    reworded = KeyPoint(
        text=old.key_points[2].text.replace("cooperate more", "cooperate much more closely"),
        cite=old.key_points[2].cite,
    )
    points = [*old.key_points[:2], reworded, *old.key_points[3:]]
    new = old.model_copy(update={"key_points": points})
    [section] = diff_digests(old, new).sections
    assert (section.added, section.removed) == ([], [])
    assert section.changed == [Changed(reworded, ("text",), old.key_points[2])]
    text = update_text(old, new)
    assert f"{EDITED} " in text
    assert "<u>much</u>" in text and "<u>closely</u>" in text
    assert ADDED not in text and REMOVED not in text


def test_unrelated_points_stay_an_addition_and_a_removal(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(
        update={"key_points": [*old.key_points[1:], KeyPoint(text="A new point.", cite=[6])]}
    )
    [section] = diff_digests(old, new).sections
    assert section.added == [new.key_points[-1]]
    assert section.removed == [old.key_points[0]]
    text = update_text(old, new)
    assert f"{ADDED} A new point. <i>[¶ 6]</i>" in text
    assert f"{REMOVED} <s>" in text


def test_a_corrected_figure_shows_old_and_new_value(digest: Digest) -> None:
    old = digest.document
    corrected = old.figures[0].model_copy(update={"value": "39,000"})
    new = old.model_copy(update={"figures": [corrected, old.figures[1]]})
    [figures] = diff_digests(old, new).sections
    assert (figures.added, figures.removed) == ([], [])
    assert figures.changed == [Changed(corrected, ("value",), old.figures[0])]
    assert "<s>about 39,000</s> → <b>39,000</b>" in update_text(old, new)


def test_an_appended_summary_sentence_is_shown_marked_new(digest: Digest) -> None:
    old = digest.document
    sentence = "Officials said talks will resume next month."
    new = old.model_copy(update={"summary": f"{old.summary} {sentence}"})
    text = update_text(old, new)
    assert f"<u>{sentence}</u>" in text
    # The unchanged sentences before it are not repeated.
    assert old.summary.split(". ")[0] not in text


def test_an_added_quote_is_shown_whole_with_its_speaker(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"quotes": old.quotes[:2]})
    added_back = diff_digests(new, old)
    text = Renderer().text("update.html", brief=old, diff=added_back, correction=False, shown=50)
    quote = old.quotes[2]
    assert f"{ADDED} “{markupsafe.escape(quote.text)}” — {quote.speaker}" in text


def test_items_are_escaped(digest: Digest) -> None:
    old = digest.document
    figure = Figure(value="thousands", label="people <b>released</b> & more", cite=[4])
    new = old.model_copy(update={"figures": [old.figures[0], figure]})
    text = update_text(old, new)
    assert "&lt;b&gt;released&lt;/b&gt; &amp; more" in text
    assert problems(text) == []


def test_most_important_changes_first_and_the_rest_counted(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(
        update={
            "people": old.people[:-3],
            "summary": old.summary + " More.",
            "figures": [old.figures[0].model_copy(update={"value": "39,000"}), old.figures[1]],
        }
    )
    diff = diff_digests(old, new)
    assert [s.section for s in diff.for_readers.sections] == ["figures", "summary", "people"]
    text = Renderer().text("update.html", brief=new, diff=diff, correction=False, shown=2)
    assert text.index("Figures") < text.index("Summary")
    assert "People and places" not in text
    assert "more changes" in visible_text(text)
    assert list(READING_ORDER[:2]) == ["figures", "summary"]


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
        ("summary", [Changed("Shorter.", ("text",), old.summary)]),
        ("source", [Changed(new.source, ("note",), old.source)]),
    ]
    assert "Note: <s>" in update_text(old, new)


def test_a_person_gets_a_role(digest: Digest) -> None:
    old = digest.document
    person = Entity(name="Asia", kind="place", description="Toured.", cite=[1])
    new = old.model_copy(update={"people": [*old.people, person]})
    newer = new.model_copy(
        update={
            "people": [*old.people, person.model_copy(update={"description": "Toured widely."})]
        }
    )
    text = update_text(new, newer)
    assert "<b>Asia</b> — Toured <u>widely</u>." in text


# -- the lexicon stays with the admin ---------------------------------------------------


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
    assert f"{ADDED} ministry, department" in published
    assert f"{REMOVED} <s>" + ", ".join(old.lexicon[0]) in published
    checked = renderer.text(
        "reload.html", diff=diff, check=True, usage=False, problems=[], recipients=3
    )
    assert "no subscriber would be told" in checked
    assert "3 subscribers" not in checked


def test_an_editor_question_alone_is_a_change_for_the_admin_not_for_readers(
    digest: Digest,
) -> None:
    # The editor's answer to an unanswered question must be published by /reload (it was
    # "No changes" once), and no subscriber hears of it.
    old = digest.document
    asked = EditorQuestion(question="Where are they held?", answer="Not all are.", cite=[4])
    new = old.model_copy(update={"questions": [*old.questions, asked]})
    diff = diff_digests(old, new)
    assert [s.section for s in diff.sections] == ["questions"]
    assert diff and not diff.for_readers
    reworded = new.model_copy(
        update={
            "questions": [
                *old.questions,
                asked.model_copy(update={"answer": "Not all of them are."}),
            ]
        }
    )
    [edit] = diff_digests(new, reworded).sections[0].changed
    assert edit.fields == ("answer",)
    published = Renderer().text(
        "reload.html",
        diff=diff,
        check=False,
        usage=False,
        problems=[],
        version=SimpleNamespace(id=7),
    )
    assert "no subscriber is told" in published
    assert f"{ADDED} “Where are they held?” — Not all are. [¶ 4]" in visible_text(published)


def test_readers_changes_leave_out_the_lexicon(digest: Digest) -> None:
    old = digest.document
    new = old.model_copy(update={"summary": "Shorter.", "lexicon": old.lexicon[1:]})
    diff = diff_digests(old, new)
    assert [s.section for s in diff.sections] == ["summary", "lexicon"]
    assert [s.section for s in diff.for_readers.sections] == ["summary"]
    text = update_text(old, new)
    assert "Lexicon" not in text
    assert "<u>Shorter</u>" in text


def test_a_correction_of_the_lexicon_alone_says_nothing_visible_changed(digest: Digest) -> None:
    # /rollback sends no correction for such a change; the template still must not list
    # nothing if it is ever asked to render one (an all-changes button over such versions).
    old = digest.document
    new = old.model_copy(update={"lexicon": old.lexicon[1:]})
    diff = diff_digests(old, new)
    text = Renderer().text("update.html", brief=new, diff=diff, correction=True, shown=4)
    assert "Nothing you see in the brief changed" in text
    assert "Lexicon" not in text
