"""The answer engine: sentence index, normalisation, BM25, verdicts, and the evaluation of
tests/data/questions.yaml (top-1 accuracy and honest "not in the article" replies)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.answers import (
    BM25,
    Answer,
    AnswerEngine,
    Lexicon,
    Passage,
    fold,
    social_kind,
    split_sentences,
    terms,
)
from bot.answers.text import GENERIC, words
from bot.digest import Digest, inspect_digest
from tests import DATA_DIR
from tests.unit.answers.questions import check_questions, evaluate, read_questions

QUESTIONS_PATH = DATA_DIR / "questions.yaml"
MIN_ACCURACY = 0.9
MIN_RIGHT = 68
"""The seed's right answers before the engine was made general (68/74): it may not fall."""


@pytest.fixture(scope="module")
def engine(digest: Digest) -> AnswerEngine:
    return AnswerEngine(digest)


def load_questions() -> list[dict[str, Any]]:
    return read_questions(QUESTIONS_PATH)


# --- the evaluation ------------------------------------------------------------------------


def test_the_evaluation_data_is_well_formed(digest: Digest) -> None:
    check_questions(
        load_questions(),
        len(digest.article.paragraphs),
        answerable_min=40,
        unanswerable_min=12,
    )


def test_evaluation_top1_accuracy_and_honest_replies(engine: AnswerEngine) -> None:
    result = evaluate(engine, load_questions())
    print(
        f"\nanswer evaluation: top-1 accuracy {result.right}/{result.answerable} "
        f"({result.accuracy:.1%}); unanswerable handled {result.honest}/{result.unanswerable}"
    )
    if result.misses:
        print("misses:\n" + "\n".join(result.misses))
    assert result.accuracy >= MIN_ACCURACY, result.report()
    assert result.right >= MIN_RIGHT, result.report()
    assert result.honest == result.unanswerable, result.report()


# --- sentences -----------------------------------------------------------------------------


def test_sentences_per_paragraph_of_the_article(engine: AnswerEngine, digest: Digest) -> None:
    counts = [
        sum(1 for passage in engine.passages if passage.paragraph == number)
        for number in range(1, len(digest.article.paragraphs) + 1)
    ]
    assert counts == [2, 2, 1, 2, 3, 1, 1, 1, 1, 1, 1]


def test_us_never_ends_a_sentence(digest: Digest) -> None:
    second = split_sentences(digest.article.paragraph(2))
    assert second[0].startswith("U.S. Homeland Security Chief Michael Chertoff says")
    fourth = split_sentences(digest.article.paragraph(4))
    assert fourth[1].startswith("He said U.S. authorities have had to release")
    tenth = split_sentences(digest.article.paragraph(10))
    assert tenth == [digest.article.paragraph(10)]  # "U.S." five times, one sentence


def test_quotes_that_end_a_sentence_stay_with_it(digest: Digest) -> None:
    fifth = split_sentences(digest.article.paragraph(5))
    assert fifth[0].endswith('going back home," said Chertoff.')
    assert fifth[1] == '"They will not be getting released into the United States.'
    assert fifth[2].endswith('which we have not been able to do up to now."')


def test_sentences_are_verbatim_and_cover_the_paragraph(digest: Digest) -> None:
    for paragraph in digest.article.paragraphs:
        sentences = split_sentences(paragraph)
        assert all(sentence in paragraph for sentence in sentences)
        assert " ".join(sentences) == paragraph


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He met Mr. Smith in the U.S. Army. They talked.", 2),
        ('She said "yes." Then she left.', 2),
        ("Is it? Yes! It is.", 3),
        ("The U.S. and China agreed.", 1),
        ("About 39,000 migrants. 12 were freed.", 2),
        ("", 0),
    ],
)
def test_split_sentences(text: str, expected: int) -> None:
    assert len(split_sentences(text)) == expected


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("migrants", "migrant"),
        ("repatriations", "repatriation"),
        ("ports", "port"),
        ("identities", "identity"),
        ("ministries", "ministry"),
        ("containers", "container"),
        ("released", "release"),
        ("smuggling", "smuggle"),
        ("asked", "ask"),
        ("agreed", "agree"),
        ("closer", "close"),
        ("boxes", "box"),
    ],
)
def test_inflections_fold_together(plural: str, singular: str) -> None:
    assert fold(plural) == fold(singular)
    assert terms(plural) == terms(singular)


def test_fold_keeps_short_and_odd_words() -> None:
    assert fold("speed") == "speed"
    assert fold("us") == "us"
    assert fold("various") == "various"
    assert fold("39000") == "39000"


def test_number_formats_are_one_term() -> None:
    assert terms("39,000") == terms("39000") == terms("39 000") == ["39000", "#qty"]
    assert terms("about 39,000 migrants") == terms("about 39000 migrant")


def test_case_punctuation_and_stop_words() -> None:
    assert terms("What IS the Megaports?!") == terms("megaports") == ["megaport"]
    assert terms("U.S.") == terms("u.s") == terms("the us") == ["us"]
    assert terms("why hasn't China...") == ["#why", "not", "china"]


def test_without_a_lexicon_only_general_english_makes_concepts() -> None:
    assert terms("said") == terms("told") == terms("remarked") == ["say"]
    assert terms("deal") != terms("agreement")
    assert terms("send them back") == ["send", "back"]


@pytest.mark.parametrize(
    "group",
    [
        ("deal", "agreement", "accord"),
        ("deport", "repatriate", "repatriations", "return"),
        ("ports", "cargo", "containers", "shipping"),
        ("migrants", "immigrants"),
        ("smugglers", "smuggling", "traffickers"),
        ("China", "Beijing", "Chinese"),
        ("U.S.", "United States", "the us"),
        ("detention", "detained", "held"),
        ("nuclear", "radioactive", "dirty bomb"),
        ("Chertoff", "homeland security chief", "Homeland Security Secretary"),
    ],
)
def test_the_seed_lexicon_makes_synonyms_one_term(
    engine: AnswerEngine, group: tuple[str, ...]
) -> None:
    found = [engine.lexicon.terms(word) for word in group]
    assert len({tuple(terms) for terms in found}) == 1, found


def test_lexicon_phrases_replace_the_phrase(engine: AnswerEngine) -> None:
    terms_of = engine.lexicon.terms
    assert terms_of("send back") == terms_of("take back") == terms_of("repatriate")
    repatriate = terms_of("repatriate")[0]
    china = terms_of("china")[0]
    migrant = terms_of("migrant")[0]
    assert terms_of("why hasn't China taken them back?") == ["#why", "not", china, repatriate]
    assert terms_of("taking back the illegal migrants") == [repatriate, fold("illegal"), migrant]
    assert terms_of("send the migrants back") == [repatriate, migrant]
    assert terms_of("how many migrants") == ["#qty", migrant]
    assert terms_of("when was it") == ["#time"]
    assert terms_of("why are they being let out") == ["#why", *terms_of("released")]


def test_a_phrase_with_a_particle_spans_at_most_two_words() -> None:
    lexicon = Lexicon([["repatriate", "send back"]])
    assert lexicon.terms("send them back") == lexicon.terms("repatriate") == [fold("repatriate")]
    assert lexicon.terms("send the old sick men back") == ["send", "old", "sick", "man", "back"]
    assert Lexicon([["benefit", "good for"]]).terms("good cheap fuel for") == [
        "good",
        "cheap",
        "fuel",
    ]


def test_lexicon_entries_sharing_a_word_are_one_concept() -> None:
    lexicon = Lexicon([["deal", "pact"], ["accord", "pacts"], ["talk", "negotiate"]])
    assert len({tuple(lexicon.terms(word)) for word in ("deal", "pact", "accord")}) == 1
    # An entry that shares a verb of speech joins that generic concept, which keeps its name
    # even when the entry also joins another ("agreement" sorts before "say").
    assert lexicon.terms("negotiate") == lexicon.terms("said") == ["say"]
    merged = Lexicon([["agreement", "accord"], ["accord", "remark"]])
    assert merged.terms("agreement") == merged.terms("said") == ["say"]


def test_the_lexicon_comes_from_the_digest(digest: Digest) -> None:
    bare = dataclasses.replace(digest, document=digest.document.model_copy(update={"lexicon": []}))
    without = AnswerEngine(bare)
    assert without.lexicon.terms("deport") != without.lexicon.terms("repatriate")
    assert AnswerEngine(digest).lexicon.terms("deport") == terms("repatriate")


# --- BM25 ----------------------------------------------------------------------------------


def test_bm25_orders_a_tiny_corpus() -> None:
    corpus = [
        ["cat", "sat", "mat"],
        ["dog", "sat", "log"],
        ["cat", "cat", "purr"],
        ["bird", "sang"],
        ["cat", "sat", "on", "the", "old", "worn", "mat", "by", "door"],
    ]
    bm25 = BM25(corpus)
    scores = bm25.scores(["cat"])
    assert scores[1] == scores[3] == 0.0
    assert scores[2] > scores[0] > scores[4] > 0.0  # more occurrences; then the shorter one
    both = bm25.scores(["cat", "sat"])
    assert max(range(len(corpus)), key=both.__getitem__) == 0
    assert bm25.idf("bird") > bm25.idf("sat") > 0.0
    assert bm25.idf("unknown") > bm25.idf("bird")


def test_bm25_scores_an_outside_document_with_corpus_statistics() -> None:
    bm25 = BM25([["a", "b"], ["b", "c"]])
    outside = bm25.score(["a"], Counter(["a", "z"]), 2)
    assert outside == pytest.approx(bm25.scores(["a"])[0])


# --- verdicts and answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    ["hi", "Hello!", "good morning", "hey there bot", "Good evening everyone", "how are you?"],
)
def test_greetings(engine: AnswerEngine, message: str) -> None:
    assert social_kind(message) == "greeting"
    assert engine.answer(message) == Answer("greeting")


@pytest.mark.parametrize(
    "message", ["thanks", "Thank you!", "cheers", "thanks a lot", "ok thanks for the help"]
)
def test_thanks(engine: AnswerEngine, message: str) -> None:
    assert social_kind(message) == "thanks"
    assert engine.answer(message) == Answer("thanks")


def test_a_greeting_with_a_question_is_a_question(engine: AnswerEngine) -> None:
    assert social_kind("hi, what is megaports?") is None
    answer = engine.answer("hi, what is megaports?")
    assert answer.kind == "sentences"
    assert answer.paragraph == 8


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "?!...", "🙂", "the of and"])
def test_empty_input_is_not_in_the_article(engine: AnswerEngine, message: str) -> None:
    answer = engine.answer(message)
    assert answer.kind == "not_in_article"
    assert answer.sentences == []
    assert answer.paragraph is None


def test_passages_are_verbatim_and_one_to_three(engine: AnswerEngine, digest: Digest) -> None:
    for question in load_questions():
        answer = engine.answer(question["question"])
        if answer.kind == "not_in_article":
            assert answer.sentences == []
            continue
        # A quote shows itself: its sentences follow only where they add to it.
        least = 0 if answer.kind == "quote" else 1
        assert least <= len(answer.sentences) <= 3, question
        for passage in answer.sentences:
            assert passage.text in digest.article.paragraph(passage.paragraph)
        item = answer.figure or answer.quote
        if item is not None:
            assert all(passage.paragraph in item.cite for passage in answer.sentences)


def test_a_quantity_question_answers_with_the_key_figure(engine: AnswerEngine) -> None:
    answer = engine.answer("how many migrants?")
    assert answer.kind == "figure"
    assert answer.figure is not None
    assert answer.figure.value == "about 39,000"
    assert answer.paragraph == 1
    assert "39,000" in answer.sentences[0].text


def test_a_question_about_someones_words_can_answer_with_a_quote(
    engine: AnswerEngine, digest: Digest
) -> None:
    answer = engine.answer("what did chertoff say about deterrence")
    assert answer.kind == "quote"
    assert answer.quote is not None
    assert "deterrents" in answer.quote.text
    assert answer.paragraph == 5
    assert all(passage.paragraph == 5 for passage in answer.sentences)


def test_a_plain_question_answers_with_sentences(engine: AnswerEngine) -> None:
    answer = engine.answer("why hasn't China taken them back?")
    assert answer.kind == "sentences"
    assert answer.sentences[0] == Passage(
        "China has thus far refused to repatriate them, saying it has not verified the "
        "migrants' identities.",
        2,
    )
    assert answer.figure is None
    assert answer.quote is None
    assert answer.score > 0


@pytest.mark.parametrize(
    "question", ["when was Chertoff born?", "what did Japan say?", "who won the world cup?"]
)
def test_off_topic_questions_are_not_in_the_article(engine: AnswerEngine, question: str) -> None:
    answer = engine.answer(question)
    assert answer.kind == "not_in_article"
    assert answer.sentences == []


def test_answers_are_frozen_and_deterministic(engine: AnswerEngine, digest: Digest) -> None:
    answer = engine.answer("what is Megaports?")
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.kind = "thanks"  # type: ignore[misc]
    again = AnswerEngine(digest)
    for question in load_questions():
        assert again.answer(question["question"]) == engine.answer(question["question"])


# --- question types, numbers, abbreviations (general English, no story's words) ------------


def document_terms(text: str) -> set[str]:
    """A document's terms and answer types, as the engine indexes a sentence."""
    return set(terms(text)) | set(GENERIC.answer_types(text))


@pytest.mark.parametrize(
    ("question", "marker"),
    [
        ("When does construction begin?", "#time"),
        ("how many people were evacuated", "#qty"),
        ("How much did it cost?", "#qty"),
        ("how long was the dock closed", "#dur"),
        ("Why do islanders commute?", "#why"),
        ("who voted against it", "#who"),
        ("where will it be built", "#where"),
    ],
)
def test_a_question_asks_for_its_type(question: str, marker: str) -> None:
    assert marker in terms(question)


SERVES = {
    "#time": [
        "Construction would start in September.",
        # Dates and clock times.
        "the final is at the stadium on May 23",
        "the alert arrived at 3:40 a.m.",
        "the council will meet again next week",
    ],
    "#dur": ["The dock was closed for eleven days.", "The 48-hour strike began."],
    "#why": [
        "They commute because the jobs are on this side.",
        "It was cancelled due to the storm.",
    ],
    "#who": ["Said Mayor Ines Calder."],
    "#where": ["The terminal will be built at Calder Point."],
    "#yesno": ["The union rejected the offer."],
    "#age": ["Moreno, 44, a former schoolteacher, won.", "a nine-year-old boy was among the dead"],
}
"""Sentences by the answer type each must serve."""


@pytest.mark.parametrize(
    ("sentence", "marker"),
    [(sentence, marker) for marker, sentences in SERVES.items() for sentence in sentences],
)
def test_a_sentence_serves_its_answer_type(sentence: str, marker: str) -> None:
    assert marker in document_terms(sentence)


def test_a_sentence_without_the_type_does_not_claim_it() -> None:
    plain = document_terms("the council met and talked")
    assert not plain & {"#time", "#dur", "#why", "#qty", "#where"}


@pytest.mark.parametrize(
    "text",
    ["nine ferries", "a third of the budget", "voted 7-2", "a 300-meter wall", "one in five"],
)
def test_number_words_and_hyphenated_numbers_are_quantities(text: str) -> None:
    assert "#qty" in terms(text)


def test_snowball_stems_fold_inflections() -> None:
    assert fold("evacuated") == fold("evacuation")
    assert fold("began") == fold("begins") == fold("begin")
    assert fold("cancelled") == fold("canceling")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("The vote is on Dec. 4 at 7 p.m. in the U.S. Capitol. It passed.", 2),
        ("Trucks are barred between 7 p.m. and 7 a.m. The council agreed.", 2),
        ("MERRIDALE, Oct. 12 - Floods hit. Six are missing.", 2),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, count: int) -> None:
    assert len(split_sentences(text)) == count


# --- what an answer shows --------------------------------------------------------------------


def test_an_answer_never_repeats_a_sentence(engine: AnswerEngine) -> None:
    for question in [q["question"] for q in load_questions()] + [
        "what did chertoff say about deterrents?"
    ]:
        answer = engine.answer(question)
        shown = [" ".join(p.text.split()) for p in answer.sentences]
        assert len(shown) == len(set(shown)), question
        if answer.quote is not None:
            quoted = " ".join(words(answer.quote.text))
            for passage in answer.sentences:
                assert " ".join(words(passage.text)) not in quoted, question


def test_a_quote_answer_shows_no_split_copy_of_itself(engine: AnswerEngine) -> None:
    answer = engine.answer("what did Chertoff say about deterrents?")
    assert answer.kind == "quote"
    assert answer.quote is not None
    assert all(not p.text.startswith('"They will not') for p in answer.sentences)


def test_what_a_party_said_prefers_its_own_words(engine: AnswerEngine, digest: Digest) -> None:
    answer = engine.answer("what did China say?")
    speaker = answer.quote.speaker if answer.quote is not None else answer.sentences[0].text
    assert "Chertoff" not in speaker


@pytest.mark.parametrize(
    "question",
    ["中国同意接收移民吗\uff1f", "Что сказал Китай?", "ماذا قالت الصين؟", "中国 39,000?"],
)
def test_a_question_in_another_script_gets_the_other_language_reply(
    engine: AnswerEngine, question: str
) -> None:
    assert engine.answer(question).kind == "other_language"


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué dijo China sobre los migrantes?",
        "Qu'a dit la Chine sur les migrants ?",
        "Was hat China über die Migranten gesagt?",
    ],
)
def test_a_question_clearly_in_another_latin_language_is_recognised(
    engine: AnswerEngine, question: str
) -> None:
    assert engine.answer(question).kind == "other_language"


@pytest.mark.parametrize(
    "question",
    [
        "what did Chertoff say in Beijing?",
        "café Chertoff?",
        "who is Jose del Rio",
        "did the mayor of La Paz say que sera sera",
    ],
)
def test_english_with_accents_is_still_english(engine: AnswerEngine, question: str) -> None:
    assert engine.answer(question).kind != "other_language"


# --- editor's questions ----------------------------------------------------------------------

EDITOR_QUESTIONS = """
questions:
  - question: Why won't China take the migrants back?
    answer: China says it has not verified that they are Chinese.
    cite: [2]
"""


def test_an_editors_question_answers_a_close_paraphrase(seeds_copy: Path) -> None:
    with seeds_copy.open("a", encoding="utf-8") as file:
        file.write(EDITOR_QUESTIONS)
    digest, problems = inspect_digest(seeds_copy)
    assert problems == [], problems
    assert digest is not None
    engine = AnswerEngine(digest)
    answer = engine.answer("why won't china take back the migrants")
    assert answer.kind == "editor"
    assert answer.editor is not None
    assert answer.editor.answer.startswith("China says")
    assert answer.paragraph == 2
    assert all(passage.paragraph == 2 for passage in answer.sentences)
    # A question about something else is left to retrieval.
    assert engine.answer("what is the Megaports Initiative?").kind != "editor"


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        ("cite: [2]", "paragraph-out-of-range"),
        ("answer: China says it has not verified that they are Chinese.", "number-not-in-article"),
    ],
)
def test_an_editors_question_is_grounded(seeds_copy: Path, edit: str, rule: str) -> None:
    broken = {
        "cite: [2]": "cite: [99]",
        "answer: China says it has not verified that they are Chinese.": (
            "answer: China says it has verified 41,234 of them."
        ),
    }[edit]
    with seeds_copy.open("a", encoding="utf-8") as file:
        file.write(EDITOR_QUESTIONS.replace(edit, broken))
    digest, problems = inspect_digest(seeds_copy)
    assert digest is None
    assert [problem.rule for problem in problems] == [rule]


def test_a_yes_no_question_is_settled_by_a_refusal(engine: AnswerEngine, digest: Digest) -> None:
    # Paragraph 3 says China agreed to something else (smuggling); paragraph 2 settles it.
    answer = engine.answer("did China agree to take them back?")
    assert answer.paragraph == 2
    assert "refused" in answer.sentences[0].text


def test_a_yes_no_question_asks_for_a_verdict(engine: AnswerEngine) -> None:
    query = engine.query("did China agree to take them back?")
    assert "#yesno" in query
    assert fold("agree") not in query
    assert "#yesno" not in engine.query("what did China agree to?")


def test_a_bare_unit_of_time_is_a_duration_not_a_date() -> None:
    found = document_terms("the company must pay within 60 days")
    assert "#dur" in found
    assert "#time" not in found


def test_general_english_equivalents_need_no_lexicon() -> None:
    assert terms("when does construction begin") == terms("when does construction start")
    assert terms("shut") == terms("closed")
    assert terms("winner") == terms("won")
    assert terms("deal") != terms("agreement")  # a story's equivalence, not general English


def test_light_verbs_and_emphatic_own_are_not_content() -> None:
    assert terms("when did he become manager") == terms("when manager")
    assert fold("own") not in terms("the city would pay on its own")
    assert fold("own") in terms("who owns the company")


def test_how_old_asks_for_an_age(engine: AnswerEngine) -> None:
    assert "#age" in terms("how old is he")
    # The seed gives nobody's age: the honest reply, not a sentence naming him.
    assert engine.answer("how old is michael chertoff").kind == "not_in_article"
